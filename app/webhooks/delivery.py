"""Sending a city's due deliveries: signed, through the outbound guard, one transaction each;
a failure is retried with exponential back-off, and an endpoint failing too often in a row is
paused (docs/webhooks.md)."""
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app

from app import crypto, outbound
from app.audit import record
from app.webhooks.models import (
    ACTIVE,
    DELIVERED,
    FAILED,
    PAUSED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenants.context import current_tenant
from tenants.db import db

SIGNATURE_HEADER = "CivicCloud-Signature"
EVENT_ID_HEADER = "CivicCloud-Event-Id"
EVENT_TYPE_HEADER = "CivicCloud-Event"
EXCERPT_CHARS = 500
SYSTEM_ACTOR = "system:webhooks"


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON sent: the same bytes at every attempt (keys sorted, no spaces)."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of "<timestamp>.<body>" with the endpoint's secret."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def signature_header(signing_secrets: list[str], timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<signature>`, with one v1 per secret (the new one first)."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(secret, timestamp, body)}"
                                         for secret in signing_secrets)])


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and the one it replaced while that still signs."""
    encrypted = [endpoint.secret_encrypted]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > now:
        encrypted.append(endpoint.previous_secret_encrypted)
    return [crypto.decrypt(value) for value in encrypted]


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: WEBHOOK_RETRY_SECONDS doubling, at
    most WEBHOOK_RETRY_MAX_SECONDS."""
    config = current_app.config
    return timedelta(seconds=min(config["WEBHOOK_RETRY_SECONDS"] * 2 ** (attempts - 1),
                                 config["WEBHOOK_RETRY_MAX_SECONDS"]))


def _excerpt(text: str) -> str:
    # PostgreSQL text can't hold NUL; an answer is shown, never interpreted.
    return text.replace("\x00", "\ufffd")[:EXCERPT_CHARS]


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """(status code, excerpt of the answer), or (None, the error) when there was no answer."""
    body = body_of(delivery)
    try:
        keys = signing_secrets(endpoint, datetime.now(UTC))
    except crypto.DecryptionError:
        return None, "the endpoint's secret does not decrypt with DATA_ENCRYPTION_KEY"
    headers = {"Content-Type": "application/json", "User-Agent": "CivicCloud-Webhooks/1",
               EVENT_ID_HEADER: str(delivery.event_id), EVENT_TYPE_HEADER: delivery.event_type,
               SIGNATURE_HEADER: signature_header(keys, int(time.time()), body)}
    try:
        with outbound.session() as session, session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False,
                stream=True) as response:
            start = response.raw.read(EXCERPT_CHARS * 4, decode_content=True) or b""
            return response.status_code, _excerpt(start.decode("utf-8", "replace"))
    except requests.RequestException as error:
        return None, _excerpt(f"{type(error).__name__}: {error}")


def _record_failure(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> str:
    config = current_app.config
    endpoint.consecutive_failures += 1
    if endpoint.state == ACTIVE and \
            endpoint.consecutive_failures >= config["WEBHOOK_PAUSE_AFTER_FAILURES"]:
        endpoint.state, endpoint.paused_at = PAUSED, now
        record(SYSTEM_ACTOR, "webhook.pause", f"webhook:{endpoint.id}", {"state": ACTIVE},
               {"state": PAUSED, "consecutive_failures": endpoint.consecutive_failures})
    if delivery.attempts >= config["WEBHOOK_MAX_ATTEMPTS"]:
        delivery.state = FAILED
        return "failed"
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    return "retry"


def deliver_due(limit: int = 100) -> dict:
    """Send the bound city's due deliveries to its active endpoints, one transaction each;
    returns counts. One city's deliveries run one at a time (an advisory lock), so no delivery
    is taken by two workers; a failure waits for a later run (the sweep)."""
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    lock = sa.text("SELECT pg_advisory_xact_lock(hashtext('civic:webhooks:' || :city))")
    started = datetime.now(UTC)
    for _ in range(limit):
        db.session.execute(lock, {"city": current_tenant().slug})
        delivery = db.session.scalar(
            sa.select(WebhookDelivery).join(WebhookDelivery.endpoint)
            .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= started,
                   WebhookEndpoint.state == ACTIVE)
            .order_by(WebhookDelivery.id).limit(1).with_for_update(of=WebhookDelivery))
        if delivery is None:
            db.session.commit()
            break
        endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
        status, excerpt = _send(endpoint, delivery)
        now = datetime.now(UTC)
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_status_code = now, status
        delivery.last_response_excerpt = excerpt
        if status is not None and 200 <= status < 300:
            delivery.state, delivery.delivered_at = DELIVERED, now
            endpoint.consecutive_failures = 0
            counts["delivered"] += 1
        else:
            counts[_record_failure(endpoint, delivery, now)] += 1
        db.session.commit()
    return counts


def due() -> bool:
    """Whether the bound city has deliveries due to an active endpoint."""
    return db.session.scalar(sa.select(sa.exists().where(
        WebhookDelivery.endpoint_id == WebhookEndpoint.id, WebhookEndpoint.state == ACTIVE,
        WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= sa.func.now())))
