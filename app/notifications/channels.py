"""Delivery channels behind one interface: `send(notification)` raises on failure.

Deliveries must be idempotent per notification: a worker that dies after sending but before
recording it sends again. The development sinks write one file named after the notification
(a second write replaces it); email carries a Message-ID derived from it for receivers."""
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app, g

from app.notifications.mail import outbox_dir, send_mail

log = logging.getLogger(__name__)


def message_id(notification) -> str:
    return f"<notification-{g.tenant.slug}-{notification.id}@civiccloud>"


def send_email(notification) -> None:
    send_mail(notification.recipient, notification.subject, notification.body,
              message_id=message_id(notification), name=f"notification-{notification.id}")


def send_text(recipient: str, body: str, name: str | None = None) -> None:
    """SMS provider interface; the development sink writes instance/outbox/<city>/sms-<name>.txt
    (`name`: fixed for a message that may be sent again, else unique)."""
    if current_app.config["SMS_BACKEND"] != "outbox":
        raise RuntimeError(f"unknown SMS_BACKEND {current_app.config['SMS_BACKEND']!r}")
    folder: Path = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
    path = folder / f"sms-{name}.txt"
    path.write_text(f"To: {recipient}\n\n{body}\n", encoding="utf-8")
    log.info("SMS to %s written to %s", recipient, path)


def send_sms(notification) -> None:
    send_text(notification.recipient, notification.body, name=str(notification.id))


CHANNELS = {"email": send_email, "sms": send_sms}
