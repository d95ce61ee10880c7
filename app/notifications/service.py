from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from app.accounts.models import User
from app.notifications.channels import CHANNELS
from app.notifications.models import FAILED, PENDING, SENT, DeliveryAttempt, Notification
from app.web.navigation import safe_next
from tenants.context import current_tenant
from tenants.db import db
from tenants.naming import strip_port

# Each city has at most one delivery job waiting; the function (platform migrations) is the
# only way a city's transaction can queue a job, and it can queue nothing else.
REQUEST_DELIVERY_SQL = sa.text("SELECT platform_api.request_delivery(:city)")


def request_delivery() -> None:
    """Queue the bound city's delivery job (if none is waiting) when the transaction commits."""
    db.session.execute(REQUEST_DELIVERY_SQL, {"city": current_tenant().slug})


def _render(event: str, locale: str, context: dict) -> tuple[str, str]:
    with force_locale(locale):
        subject = render_template(f"notifications/{event}.subject.txt", **context).strip()
        body = render_template(f"notifications/{event}.body.txt", **context).strip()
    return subject, body


@dataclass(frozen=True)
class Contact:
    """Someone to tell who has no account of the city: the address left with an anonymous
    report. Told like an account (`notify`), in `locale` (the city's language if None)."""
    email: str
    locale: str | None = None
    name: str = ""
    id: None = None  # no account: the message is kept without one
    mobile: None = None


def page_path(link: str | None) -> str | None:
    """The path (and query) of `link` when it is a page of the bound city's own site, else
    None: a notification links only ever within the site it was made on."""
    if not link or any(ord(c) < 32 for c in link):  # urlsplit would drop them silently
        return None
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:  # e.g. a malformed port or IPv6 address
        return None
    if parts.scheme not in ("", "http", "https") or (
            host is not None and strip_port(host) not in current_tenant().domains):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, None) if len(path) <= Notification.path.type.length else None


def notify(user: User | Contact, event: str, **context) -> list[Notification]:
    """Queue `event` for `user`, in their language, by email (or SMS when they have no email),
    in the current transaction: it is sent only if that transaction commits. A `link` (an
    absolute URL of the city's site) goes into the message, and its path onto the
    notification, which "My account" links to."""
    tenant = current_tenant()
    locale = user.locale or tenant.locale
    channel, recipient = ("email", user.email) if user.email else ("sms", user.mobile)
    if not recipient:
        return []
    subject, body = _render(event, locale, {"user": user, "tenant": tenant,
                                            "city": tenant.display_name(locale), **context})
    notification = Notification(user_id=user.id, event=event, channel=channel,
                                recipient=recipient, locale=locale, subject=subject, body=body,
                                path=page_path(context.get("link")))
    db.session.add(notification)
    request_delivery()
    return [notification]


def _backoff(attempts: int) -> timedelta:
    base = current_app.config["NOTIFICATION_RETRY_SECONDS"]
    return timedelta(seconds=base * 2 ** (attempts - 1))


def deliver_pending(limit: int = 100) -> dict:
    """Send the city's due notifications, one transaction each; returns counts. Deliveries of
    one city run one at a time (an advisory lock), so no message is taken by two workers."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    lock = sa.text("SELECT pg_advisory_xact_lock(hashtext('civic:deliver:' || :city))")
    started = datetime.now(UTC)  # a message that fails now waits for a later run
    for _ in range(limit):
        db.session.execute(lock, {"city": current_tenant().slug})
        notification = db.session.scalar(
            sa.select(Notification)
            .where(Notification.status == PENDING, Notification.next_attempt_at <= started)
            .order_by(Notification.id).limit(1).with_for_update())
        if notification is None:
            db.session.commit()
            break
        notification.attempts += 1
        try:
            CHANNELS[notification.channel](notification)
        except Exception as error:  # recorded; retried with back-off, then given up
            notification.last_error = f"{type(error).__name__}: {error}"[:1000]
            notification.delivery_attempts.append(
                DeliveryAttempt(succeeded=False, error=notification.last_error))
            if notification.attempts >= current_app.config["NOTIFICATION_MAX_ATTEMPTS"]:
                notification.status = FAILED
                counts["failed"] += 1
            else:
                notification.next_attempt_at = datetime.now(UTC) + _backoff(
                    notification.attempts)
                counts["retry"] += 1
        else:
            notification.status, notification.sent_at = SENT, datetime.now(UTC)
            notification.delivery_attempts.append(DeliveryAttempt(succeeded=True))
            counts["sent"] += 1
        db.session.commit()
    return counts
