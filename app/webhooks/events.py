"""The events a city's systems can subscribe to, and `publish`, which the service functions
call in the transaction of the change they report."""
import logging
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.context import current_tenant
from tenants.db import TenantSession, db
from tenants.jobs import defer_once

log = logging.getLogger(__name__)

DELIVER = "webhooks.deliver"

EVENTS = {
    "payment.received": _l("Payment received"),
    "payment.refunded": _l("Payment refunded"),
    "booking.made": _l("Appointment booked"),
    "booking.cancelled": _l("Appointment cancelled"),
    "case.status_changed": _l("Passport case status changed"),
    "service_request.status_changed": _l("Service request status changed"),
}

_CITIES_TO_DELIVER = "webhooks.cities_to_deliver"


def publish(event_type: str, data: dict) -> uuid.UUID | None:
    """Queue the event for every endpoint of the bound city that subscribed to it (paused
    ones too: they get it once resumed), in the current transaction; the delivery job is
    asked for when it commits. `data` must be JSON (ids, references, statuses, amounts in
    fen). Returns the event id, or None when no endpoint wants the event."""
    if event_type not in EVENTS:
        raise ValueError(f"no webhook event {event_type!r}")
    endpoint_ids = db.session.scalars(sa.select(WebhookEndpoint.id).where(
        WebhookEndpoint.events.contains([event_type]))).all()
    if not endpoint_ids:
        return None
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": event_type, "city": current_tenant().slug,
               "created": datetime.now(UTC).isoformat(timespec="seconds"), "data": data}
    db.session.add_all(WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id,
                                       event_type=event_type, payload=payload)
                       for endpoint_id in endpoint_ids)
    deliver_after_commit()
    return event_id


def deliver_after_commit() -> None:
    """Ask for the bound city's delivery job once the current transaction commits."""
    db.session.info.setdefault(_CITIES_TO_DELIVER, set()).add(current_tenant().slug)


def ask_for_delivery(city: str) -> None:
    """Queue the delivery job of `city`, unless one is already waiting."""
    defer_once(DELIVER, f"webhooks:{city}", city=city)


@sa.event.listens_for(TenantSession, "after_commit")
def _ask_after_commit(session) -> None:
    """Queue the delivery job of the cities whose events just committed. Should this fail (or
    the process die first), the minutely sweep (tasks.retry_due) finds the deliveries."""
    for city in session.info.pop(_CITIES_TO_DELIVER, ()):
        try:
            ask_for_delivery(city)
        except Exception:  # the change is committed: a lost job only delays delivery
            log.exception("could not queue the webhook delivery of %s", city)


@sa.event.listens_for(TenantSession, "after_rollback")
def _forget(session) -> None:
    session.info.pop(_CITIES_TO_DELIVER, None)
