"""The reminder jobs: every 15 minutes the platform asks each active city that offers
appointments to queue its due reminders (booking.queue_reminders)."""
from app.modules import is_enabled
from app.modules.appointments.booking import KEY, queue_reminders
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.jobs import city_task, defer_for_city, platform_task
from tenants.models import ACTIVE

REMIND = "appointments.remind"


@city_task(REMIND, queue="notifications")
def remind() -> int:
    """Queue the city's due reminders; returns how many."""
    queued = queue_reminders()
    db.session.commit()
    return queued


@platform_task("appointments.remind_all", cron="*/15 * * * *", queue="notifications")
def remind_all() -> int:
    """Defer `appointments.remind` for every active city with the module enabled; returns
    how many cities were asked."""
    asked = 0
    for tenant in directory().all():
        if tenant.status != ACTIVE:
            continue
        with tenant_context(tenant):
            if is_enabled(KEY):
                defer_for_city(REMIND)
                asked += 1
    return asked
