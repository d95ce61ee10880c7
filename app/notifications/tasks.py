"""The jobs of notifications: delivery per city, and the periodic sweep that retries."""
import sqlalchemy as sa

from app.notifications.models import PENDING, Notification
from app.notifications.service import deliver_pending, request_delivery
from tenants.db import db
from tenants.jobs import ask_active_cities, city_task, platform_task

DELIVER = "notifications.deliver"


@city_task(DELIVER, queue="notifications")
def deliver() -> dict:
    """Send the city's due notifications; a later retry is picked up by the sweep."""
    return deliver_pending()


@platform_task("notifications.retry_due", cron="*/2 * * * *", queue="notifications")
def retry_due() -> int:
    """Ask for delivery in every city that has notifications due (retries, and any whose job
    was lost). Returns how many cities were asked."""
    return ask_active_cities(_notifications_due, _request_delivery_now)


def _notifications_due() -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        Notification.status == PENDING, Notification.next_attempt_at <= sa.func.now())))


def _request_delivery_now() -> None:
    request_delivery()
    db.session.commit()


__all__ = ["DELIVER", "deliver", "retry_due"]
