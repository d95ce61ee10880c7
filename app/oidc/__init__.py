"""Sign-in with a city's OpenID Connect providers (its own identity service, the province's
government ID …).

A city lists its providers in its own `oidc_providers` table (`flask tenants oidc add`, or the
console's sign-in providers page), so a provider of one city does not exist on another city's
site. The flow is the authorization code flow with PKCE (S256), a state bound to the city's own
session cookie and a nonce checked in the signature-verified ID token (Authlib's Flask client
does the protocol; the citizen site's views are app/citizen/oidc.py).

- models.py     providers, and the identities linked to accounts
- client.py     Authlib's client for a city's provider, registered on first use
- linking.py    which account a verified sign-in belongs to
- providers.py  adding, changing, enabling and disabling providers (console and CLI)
- cli.py        `flask tenants oidc …`
"""
import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth
from flask import g

from app import crypto
from app.oidc.models import OidcProvider
from tenants.db import db


def init_app(app) -> None:
    crypto.check_configuration(app.config)
    OAuth(app)  # one registry per app, in app.extensions


def enabled_providers() -> list[OidcProvider]:
    """The city's providers offered on its sign-in page, in a stable order (one query per
    request at most)."""
    if "oidc_providers" not in g:
        g.oidc_providers = db.session.scalars(
            sa.select(OidcProvider).where(OidcProvider.enabled).order_by(OidcProvider.id)
        ).all()
    return g.oidc_providers
