"""Delivery channels behind one interface: `send(notification)` raises on failure.

Delivery is at least once: a worker that dies after sending but before recording it sends
again. Every attempt at one message carries the same key (`delivery_key`): email as its
Message-ID, SMS as the provider's idempotency key, so a provider (and any receiver) can drop
the repeat. The development sinks write one file named after the notification (a second write
replaces it) with that key in it."""
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app, g

from app.notifications.mail import outbox_dir, send_mail

log = logging.getLogger(__name__)


def delivery_key(notification) -> str:
    """The same for every attempt at one message; never the same for two messages of this
    platform: city ids are never reused (a slug is, after a city is deleted) and a message's id
    is unique in its city."""
    return f"notification-{g.tenant.id}-{notification.id}"


def message_id(notification) -> str:
    return f"<{delivery_key(notification)}@civiccloud>"


def send_email(notification) -> None:
    send_mail(notification.recipient, notification.subject, notification.body,
              message_id=message_id(notification), name=f"notification-{notification.id}")


def send_text(recipient: str, body: str, name: str | None = None,
              idempotency_key: str | None = None) -> None:
    """SMS provider interface; the development sink writes instance/outbox/<city>/sms-<name>.txt
    (`name`: fixed for a message that may be sent again, else unique). `idempotency_key`: the
    same for every attempt at one message, passed to the provider so it sends it once."""
    if current_app.config["SMS_BACKEND"] != "outbox":
        raise RuntimeError(f"unknown SMS_BACKEND {current_app.config['SMS_BACKEND']!r}")
    folder: Path = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
    path = folder / f"sms-{name}.txt"
    key = f"Idempotency-Key: {idempotency_key}\n" if idempotency_key else ""
    path.write_text(f"To: {recipient}\n{key}\n{body}\n", encoding="utf-8")
    log.info("SMS to %s written to %s", recipient, path)


def send_sms(notification) -> None:
    send_text(notification.recipient, notification.body, name=str(notification.id),
              idempotency_key=delivery_key(notification))


CHANNELS = {"email": send_email, "sms": send_sms}
