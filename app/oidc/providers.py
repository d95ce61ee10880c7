"""Adding, changing, enabling and disabling a city's OpenID providers: one implementation for
the console (app/admin/providers.py) and `flask tenants oidc` (cli.py)."""
import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _

from app import crypto
from app.audit import record
from app.oidc.models import OidcProvider
from app.outbound import url_problem
from tenants.db import db

KEY_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


def _derive_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")


def as_dict(provider: OidcProvider) -> dict:
    """What may be shown and audited: everything but the secret."""
    return {"key": provider.key, "name": provider.display_name,
            "name_zh": provider.display_name_zh, "issuer": provider.issuer,
            "client_id": provider.client_id, "scopes": provider.scopes,
            "enabled": provider.enabled}


class ProviderInvalid(ValueError):
    """Settings a provider can't have: `errors` maps a field ("name", "name_zh", "key", "issuer",
    "client_id", "client_secret", "scopes") to a message in the current locale, `codes` the
    same fields to what is wrong ("name", "key", "key_taken", "issuer", "issuer_refused",
    "issuer_long", "client_id", "client_secret", "scopes"), in the order checked; `values` are
    the normalized settings."""

    def __init__(self, errors: dict[str, str], codes: dict[str, str], values: dict):
        self.errors, self.codes, self.values = errors, codes, values
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def provider_errors(*, name: str, issuer: str, client_id: str, scopes: str,
                    key: str | None = None, client_secret: str | None = None,
                    secret_required: bool = True, name_zh: str = ""
                    ) -> tuple[dict, dict[str, tuple[str, str]]]:
    """The normalized settings and, per field, what is wrong with them as (code, message),
    empty when all is well (see ProviderInvalid). `name` is in English, `name_zh` in Chinese:
    one of the two at least. `key` None: not checked (an existing provider's key does not
    change); "": made from the English name. No database access."""
    name, name_zh = (name or "").strip(), (name_zh or "").strip()
    client_id = (client_id or "").strip()
    issuer, scopes = (issuer or "").strip(), " ".join((scopes or "").split())
    values = {"name": name, "name_zh": name_zh, "issuer": issuer, "client_id": client_id,
              "scopes": scopes}
    errors: dict[str, tuple[str, str]] = {}
    if not (name or name_zh):
        errors["name"] = "name", _("Enter the name in at least one language.")
    for field, text in (("name", name), ("name_zh", name_zh)):
        if len(text) > 100 or not text.isprintable():
            errors[field] = "name", _("Enter a name of at most 100 characters.")
    if key is not None:
        key = key.strip() or _derive_key(name)
        values["key"] = key
        if not KEY_PATTERN.match(key):
            errors["key"] = "key", _(
                "Enter 1 to 40 lowercase letters, digits and inner hyphens, such as gov-id.")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query \
            or parts.fragment:
        errors["issuer"] = "issuer", _(
            "Enter an https:// URL without a query or fragment, such as https://id.example.org.")
    elif refused := url_problem(issuer):
        errors["issuer"] = "issuer_refused", refused
    elif len(issuer) > 500:
        errors["issuer"] = "issuer_long", _("Enter a URL of at most 500 characters.")
    if not client_id or len(client_id) > 255:
        errors["client_id"] = "client_id", _("Enter a client id of 1 to 255 characters.")
    if secret_required and not client_secret:
        errors["client_secret"] = "client_secret", _("Enter the client secret.")
    if "openid" not in scopes.split() or len(scopes) > 200:
        errors["scopes"] = "scopes", _(
            "Enter the scopes, including openid (at most 200 characters).")
    return values, errors


def save_provider(provider: OidcProvider | None, actor_name: str, *, name: str, issuer: str,
                  client_id: str, scopes: str, key: str | None = None,
                  client_secret: str | None = None, name_zh: str = ""
                  ) -> tuple[OidcProvider, bool]:
    """Add a provider to the bound city (`provider` None; `key` "" or None: made from the
    name) or change one (its key stays; an empty `client_secret` keeps the stored one), with
    its audit entry ("oidc_provider.add" or ".edit", never the secret) in the session's
    transaction, flushed, not committed. Returns (provider, whether anything changed); raises
    ProviderInvalid before changing anything."""
    adding = provider is None
    values, errors = provider_errors(
        name=name, name_zh=name_zh, issuer=issuer, client_id=client_id, scopes=scopes,
        key=(key or "") if adding else None, client_secret=client_secret,
        secret_required=adding)
    if adding and "key" not in errors and db.session.scalar(
            sa.select(OidcProvider.id).where(OidcProvider.key == values["key"])):
        errors["key"] = "key_taken", _(
            "This city already has a sign-in provider with the key %(key)s.", key=values["key"])
    if errors:
        raise ProviderInvalid({field: message for field, (_code, message) in errors.items()},
                              {field: code for field, (code, _message) in errors.items()},
                              values)
    before = None if adding else as_dict(provider)
    if adding:
        provider = OidcProvider(key=values["key"], enabled=True)
        db.session.add(provider)
    secret_changed = bool(client_secret)
    if secret_changed and not adding:
        try:
            secret_changed = crypto.decrypt(provider.client_secret_encrypted) != client_secret
        except crypto.DecryptionError:
            secret_changed = True
    provider.display_name, provider.display_name_zh = values["name"], values["name_zh"]
    provider.issuer = values["issuer"]
    provider.client_id, provider.scopes = values["client_id"], values["scopes"]
    if secret_changed:
        provider.client_secret_encrypted = crypto.encrypt(client_secret)
    after = as_dict(provider)
    if not adding and after == before and not secret_changed:
        return provider, False
    if not adding:  # that the secret changed is audited, never the secret
        before, after = {**before, "secret_changed": False}, {**after,
                                                               "secret_changed": secret_changed}
    record(actor_name, "oidc_provider.add" if adding else "oidc_provider.edit",
           f"oidc_provider:{provider.key}", before, after)
    db.session.flush()
    return provider, True


def set_provider_enabled(provider: OidcProvider, enabled: bool, actor_name: str) -> bool:
    """Offer a provider or stop offering it, with its audit entry ("oidc_provider.enable" or
    ".disable") in the session's transaction; False (and nothing written) when it already
    was."""
    if provider.enabled == enabled:
        return False
    before = as_dict(provider)
    provider.enabled = enabled
    record(actor_name, "oidc_provider.enable" if enabled else "oidc_provider.disable",
           f"oidc_provider:{provider.key}", before, as_dict(provider))
    db.session.flush()
    return True
