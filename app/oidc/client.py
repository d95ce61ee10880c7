"""Authlib's client of a city's OpenID provider: registered on first use under a name that holds
the city, the provider's key and a fingerprint of its settings (a changed provider gets a new
client), its discovery document checked and re-read after METADATA_MAX_AGE."""
import hashlib
import time

import requests
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

from app import crypto, outbound
from app.oidc.models import OidcProvider
from tenants.context import current_tenant

METADATA_MAX_AGE = 3600  # seconds a provider's discovery document is trusted before re-reading
OAUTH_EXTENSION = "authlib.integrations.flask_client"


def _discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _scopes(provider: OidcProvider) -> str:
    scopes = provider.scopes.split()
    return " ".join(scopes if "openid" in scopes else ["openid", *scopes])


class GuardedOAuth2Session(OAuth2Session):
    """Authlib's session for discovery, keys, tokens and user info, under the outbound guard
    (app/outbound.py): the issuer's documents name further URLs, each checked when called."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        outbound.guard(self)


class ProviderUnusable(Exception):
    """The provider can't be reached, its discovery document does not describe it, or its
    stored secret can't be decrypted with the configured keys."""


def client_for(provider: OidcProvider):
    """Authlib's client for this city's provider, registered on first use. The name holds the
    city, the key and a fingerprint of the settings, so a changed provider gets a new client;
    the discovery document is read again after METADATA_MAX_AGE."""
    oauth: OAuth = current_app.extensions[OAUTH_EXTENSION]
    fingerprint = hashlib.sha256("\n".join([
        str(provider.id), provider.issuer, provider.client_id, provider.client_secret_encrypted,
        _scopes(provider),
    ]).encode()).hexdigest()[:12]
    name = f"{current_tenant().slug}.{provider.key}.{fingerprint}"
    client = oauth.create_client(name)
    if client is None:
        try:
            secret = crypto.decrypt(provider.client_secret_encrypted)
        except crypto.DecryptionError as error:
            raise ProviderUnusable("its client secret does not decrypt with the configured "
                                   "DATA_ENCRYPTION_KEY") from error
        client = oauth.register(
            name,
            client_id=provider.client_id,
            client_secret=secret,
            server_metadata_url=_discovery_url(provider.issuer),
            client_kwargs={"scope": _scopes(provider), "code_challenge_method": "S256"},
        )
        client.client_cls = GuardedOAuth2Session
    loaded_at = client.server_metadata.get("_loaded_at")
    if loaded_at is not None and time.time() - loaded_at > METADATA_MAX_AGE:
        for stale in ("_loaded_at", "jwks"):
            client.server_metadata.pop(stale, None)
    _metadata(client, provider)
    return client


def _metadata(client, provider: OidcProvider) -> dict:
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnusable(f"discovery failed: {error}") from error
    # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked for;
    # Authlib then checks every ID token's `iss` against it.
    if str(metadata.get("issuer", "")).rstrip("/") != provider.issuer.rstrip("/"):
        raise ProviderUnusable(f"discovery names the issuer {metadata.get('issuer')!r}")
    if not metadata.get("authorization_endpoint") or not metadata.get("token_endpoint") \
            or not metadata.get("jwks_uri"):
        raise ProviderUnusable("discovery lacks the authorization, token or jwks endpoint")
    return metadata
