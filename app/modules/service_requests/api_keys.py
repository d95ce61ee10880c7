"""The api_keys the city issues to other systems for Open311 (POST requests). A key is 256
random bits, shown once; the city keeps its SHA-256 digest only, in the city's own schema — so
a key is looked up among that city's clients alone and is worthless on any other city, and a
copy of the database gives no usable key."""
import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from app.audit import actor_of, record
from app.modules.service_requests.models import KEY, ServiceApiClient
from tenants.db import db

KEY_PREFIX = "o311_"


def digest_of(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogateescape")).hexdigest()


def issue(name: str, actor) -> tuple[ServiceApiClient, str]:
    """A new client and its key (the only time the key exists in clear), audited."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ServiceApiClient(name=name, key_digest=digest_of(api_key),
                              key_hint=api_key[:len(KEY_PREFIX) + 4], created_by_user_id=actor.id)
    db.session.add(client)
    db.session.flush()
    record(actor_of(actor), f"{KEY}.api_client.issue", f"api_client:{client.id}", None,
           {"name": name, "key_hint": client.key_hint})
    return client, api_key


def revoke(client: ServiceApiClient, actor) -> None:
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
        record(actor_of(actor), f"{KEY}.api_client.revoke", f"api_client:{client.id}",
               {"revoked": False}, {"revoked": True, "name": client.name})


def client_of(api_key: str | None) -> ServiceApiClient | None:
    """The bound city's client that holds `api_key`, unless revoked (None for anything else)."""
    if not api_key or len(api_key) > 200:
        return None
    return db.session.scalar(sa.select(ServiceApiClient).where(
        ServiceApiClient.key_digest == digest_of(api_key), ServiceApiClient.revoked_at.is_(None)))
