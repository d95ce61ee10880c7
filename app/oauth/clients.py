"""Registering and revoking the city's OAuth clients (the console's pages call these): each
change in the caller's transaction with its audit entry. A client's secret is shown once, at
registration, and only its digest is kept."""
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask_babel import gettext as _

from app import audit
from app.oauth.models import CONFIDENTIAL, KINDS, PUBLIC, SERVICE, OAuthClient, digest
from app.oauth.scopes import ALL_SCOPES, CITIZEN_SCOPES
from app.oauth.server import client_actor
from tenants.db import db


class ClientRefused(ValueError):
    """Registration refused; `errors` maps a field to what to fix."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _redirect_uri_error(uri: str) -> str | None:
    """RFC 8252 and RFC 9700: https, a loopback http address, or an app's private scheme;
    never a fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return _("%(uri)s is not an address.", uri=uri)
    if parts.fragment or not parts.scheme:
        return _("%(uri)s must be an absolute address without a fragment (#).", uri=uri)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http":
        return None if parts.hostname in ("127.0.0.1", "::1", "localhost") else _(
            "%(uri)s: http is allowed only for this computer (127.0.0.1); use https.", uri=uri)
    if "." in parts.scheme:  # a private-use scheme in reverse domain order, RFC 8252 7.1
        return None
    return _("%(uri)s: use https, or your app's own scheme such as com.example.app:/callback.",
             uri=uri)


def register_client(name: str, kind: str, redirect_uris: list[str], scopes: list[str],
                    actor: str) -> tuple[OAuthClient, str | None]:
    """A new client and its secret (None for a public client), or ClientRefused."""
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("Give the app a name of up to 100 characters.")
    if kind not in KINDS:
        errors["kind"] = _("Choose the kind of app.")
    uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    if kind in (PUBLIC, CONFIDENTIAL):
        problems = [p for p in map(_redirect_uri_error, uris) if p]
        if problems or not uris:
            errors["redirect_uris"] = " ".join(problems) or _(
                "Give at least one redirect address.")
    elif uris:
        errors["redirect_uris"] = _("A back office signs in with its secret: it has no "
                                    "redirect addresses.")
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown or not scopes:
        errors["scopes"] = _("Choose at least one of the listed scopes.")
    elif kind == SERVICE and any(scope in CITIZEN_SCOPES for scope in scopes):
        errors["scopes"] = _("A back office acts for no citizen: give it staff scopes only.")
    if errors:
        raise ClientRefused(errors)
    secret = None if kind == PUBLIC else secrets.token_urlsafe(32)
    client = OAuthClient(client_id=secrets.token_urlsafe(18), name=name, kind=kind,
                         secret_hash=digest(secret) if secret else None, redirect_uris=uris,
                         scope=" ".join(sorted(set(scopes))), created_by=actor)
    db.session.add(client)
    db.session.flush()
    audit.record(actor, "oauth.client_registered", client_actor(client), None, snapshot(client))
    return client, secret


def revoke_client(client: OAuthClient, actor: str) -> None:
    """The client stops working at once: its tokens are refused from now on."""
    if client.revoked_at is not None:
        return
    before = snapshot(client)
    client.revoked_at = datetime.now(UTC)
    audit.record(actor, "oauth.client_revoked", client_actor(client), before, snapshot(client))


def snapshot(client: OAuthClient) -> dict:
    return {"name": client.name, "kind": client.kind, "redirect_uris": client.redirect_uris,
            "scope": client.scope, "revoked": client.revoked_at is not None}
