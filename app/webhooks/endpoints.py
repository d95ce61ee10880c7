"""Registering, changing, pausing, resuming and deleting a city's webhook endpoints, and
re-sending a delivery: each change with its audit entry, in the caller's transaction."""
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from app import crypto
from app.audit import record
from app.outbound import url_problem
from app.webhooks.events import EVENTS, deliver_after_commit
from app.webhooks.models import ACTIVE, PAUSED, PENDING, WebhookDelivery, WebhookEndpoint
from tenants.db import db

SECRET_PREFIX = "whsec_"
# How long a rotated-out secret keeps signing beside the new one: a day to deploy the new one.
PREVIOUS_SECRET_VALID_FOR = timedelta(hours=24)


class EndpointInvalid(ValueError):
    """`errors` maps a field ("url", "description", "events") to what to fix, in the current
    locale."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def as_dict(endpoint: WebhookEndpoint) -> dict:
    """What may be shown and audited: everything but the secret."""
    return {"url": endpoint.url, "description": endpoint.description,
            "events": list(endpoint.events), "state": endpoint.state}


def _checked(url: str, description: str, events) -> tuple[str, str, list[str]]:
    url, description = (url or "").strip(), (description or "").strip()
    chosen = sorted(set(events or ()))
    errors = {}
    if len(url) > 500:
        errors["url"] = _("Enter a URL of at most 500 characters.")
    elif problem := url_problem(url):
        errors["url"] = problem
    if len(description) > 200:
        errors["description"] = _("Enter a description of at most 200 characters.")
    if not chosen or not set(chosen) <= set(EVENTS):
        errors["events"] = _("Choose at least one event.")
    if errors:
        raise EndpointInvalid(errors)
    return url, description, chosen


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_endpoint(actor: str, *, url: str, description: str = "",
                    events=()) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it (flushed) and its secret, which is shown once and
    never again. Raises EndpointInvalid before writing anything."""
    url, description, events = _checked(url, description, events)
    secret = _new_secret()
    endpoint = WebhookEndpoint(url=url, description=description, events=events,
                               secret_encrypted=crypto.encrypt(secret), state=ACTIVE)
    db.session.add(endpoint)
    db.session.flush()
    record(actor, "webhook.add", f"webhook:{endpoint.id}", None, as_dict(endpoint))
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, actor: str, *, url: str, description: str,
                    events) -> bool:
    """Change an endpoint; False (nothing written) when nothing changed."""
    url, description, events = _checked(url, description, events)
    before = as_dict(endpoint)
    endpoint.url, endpoint.description, endpoint.events = url, description, events
    if as_dict(endpoint) == before:
        return False
    record(actor, "webhook.edit", f"webhook:{endpoint.id}", before, as_dict(endpoint))
    db.session.flush()
    return True


def rotate_secret(endpoint: WebhookEndpoint, actor: str) -> str:
    """Give the endpoint a new signing secret, returned to be shown once. Messages carry a
    signature with each secret for PREVIOUS_SECRET_VALID_FOR, so the receiver can switch
    without losing one; a second rotation within that time retires the first secret at once.
    The caller has locked the endpoint's row."""
    secret = _new_secret()
    expires_at = datetime.now(UTC) + PREVIOUS_SECRET_VALID_FOR
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = expires_at
    endpoint.secret_encrypted = crypto.encrypt(secret)
    record(actor, "webhook.rotate_secret", f"webhook:{endpoint.id}", None,
           {"previous_secret_signs_until": expires_at.isoformat()})
    db.session.flush()
    return secret


def delete_endpoint(endpoint: WebhookEndpoint, actor: str) -> None:
    """Delete an endpoint and its deliveries."""
    record(actor, "webhook.delete", f"webhook:{endpoint.id}", as_dict(endpoint), None)
    db.session.delete(endpoint)
    db.session.flush()


def resume_endpoint(endpoint: WebhookEndpoint, actor: str) -> bool:
    """Resume a paused endpoint: what waited for it is sent now. False if it was active."""
    if endpoint.state != PAUSED:
        return False
    before = as_dict(endpoint)
    endpoint.state, endpoint.paused_at, endpoint.consecutive_failures = ACTIVE, None, 0
    db.session.execute(sa.update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.state == PENDING)
        .values(next_attempt_at=sa.func.now()))
    record(actor, "webhook.resume", f"webhook:{endpoint.id}", before, as_dict(endpoint))
    deliver_after_commit()
    db.session.flush()
    return True


def resend(delivery: WebhookDelivery, actor: str) -> None:
    """Send a delivery again, now (whatever its state; one more attempt past the maximum)."""
    before = {"state": delivery.state, "attempts": delivery.attempts}
    delivery.state, delivery.next_attempt_at = PENDING, datetime.now(UTC)
    record(actor, "webhook.resend", f"webhook:{delivery.endpoint_id}",
           {**before, "event_id": str(delivery.event_id)},
           {"state": PENDING, "event_id": str(delivery.event_id)})
    deliver_after_commit()
    db.session.flush()


def paused_endpoints() -> int:
    """How many of the bound city's endpoints are paused (the console's notice)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        WebhookEndpoint.state == PAUSED))
