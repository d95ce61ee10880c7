"""The jobs of notifications: delivery per city, and the periodic sweep that retries."""
import sqlalchemy as sa

from app.notifications.models import PENDING, Notification
from app.notifications.service import REQUEST_DELIVERY_SQL, deliver_pending
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.jobs import city_task, platform_task
from tenants.models import ACTIVE

DELIVER = "notifications.deliver"


@city_task(DELIVER, queue="notifications")
def deliver() -> dict:
    """Send the city's due notifications; a later retry is picked up by the sweep."""
    return deliver_pending()


@platform_task("notifications.retry_due", cron="*/2 * * * *", queue="notifications")
def retry_due() -> int:
    """Ask for delivery in every city that has notifications due (retries, and any whose job
    was lost). Returns how many cities were asked."""
    asked = 0
    for tenant in directory().all():
        if tenant.status != ACTIVE:
            continue
        with tenant_context(tenant):
            due = db.session.scalar(sa.select(sa.exists().where(
                Notification.status == PENDING,
                Notification.next_attempt_at <= sa.func.now())))
            if due:
                db.session.execute(REQUEST_DELIVERY_SQL, {"city": tenant.slug})
                db.session.commit()
                asked += 1
    return asked


__all__ = ["DELIVER", "deliver", "retry_due"]
