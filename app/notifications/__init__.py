"""Notifications: "tell this citizen about this event", kept in the city's outbox.

`notify()` renders the message in the citizen's language and stores it in the same transaction
as the change that caused it, together with a request for delivery (a job): a rolled-back change
sends nothing, and nothing is lost while no worker runs. The worker delivers through a channel
(email or SMS), records every attempt, and retries with back-off.
"""
import sqlalchemy as sa

from app.notifications.models import Notification
from app.notifications.service import Contact, deliver_pending, notify
from tenants.db import db


def recent_notifications(user, limit: int = 10) -> list[Notification]:
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id.desc()).limit(limit)).all()


def init_app(app) -> None:
    app.jinja_env.globals["recent_notifications"] = recent_notifications


__all__ = ["Contact", "deliver_pending", "init_app", "notify", "recent_notifications"]
