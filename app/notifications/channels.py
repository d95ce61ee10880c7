"""Delivery channels behind one interface: `send(notification)` raises on failure.

Deliveries must be idempotent per notification: a worker that dies after sending but before
recording it sends again. The development sinks write one file named after the notification
(a second write replaces it); email carries a Message-ID derived from it for receivers."""
import logging
from pathlib import Path

from flask import current_app, g

from app.notifications.mail import outbox_dir, send_mail

log = logging.getLogger(__name__)


def message_id(notification) -> str:
    return f"<notification-{g.tenant.slug}-{notification.id}@civiccloud>"


def send_email(notification) -> None:
    send_mail(notification.recipient, notification.subject, notification.body,
              message_id=message_id(notification), name=f"notification-{notification.id}")


def send_sms(notification) -> None:
    """SMS provider interface; the development sink writes instance/outbox/<city>/sms-<id>.txt."""
    if current_app.config["SMS_BACKEND"] != "outbox":
        raise RuntimeError(f"unknown SMS_BACKEND {current_app.config['SMS_BACKEND']!r}")
    folder: Path = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sms-{notification.id}.txt"
    path.write_text(f"To: {notification.recipient}\n\n{notification.body}\n", encoding="utf-8")
    log.info("SMS to %s written to %s", notification.recipient, path)


CHANNELS = {"email": send_email, "sms": send_sms}
