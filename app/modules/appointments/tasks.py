"""The reminder jobs: every 15 minutes the platform asks each active city that offers
appointments to queue its due reminders (booking.queue_reminders)."""
from app.modules import is_enabled
from app.modules.appointments.booking import KEY, queue_reminders
from tenants.db import db
from tenants.jobs import ask_active_cities, city_task, defer_for_city, platform_task

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
    return ask_active_cities(lambda: is_enabled(KEY), lambda: defer_for_city(REMIND))
