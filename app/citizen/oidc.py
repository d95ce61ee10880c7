"""Sign-in with the city's OpenID Connect providers, and `flask tenants oidc`.

A city lists its providers in its own `oidc_providers` table (`flask tenants oidc add`), so a
provider of one city does not exist on another city's site. The flow is the authorization code
flow with PKCE (S256), a state bound to the city's own session cookie and a nonce checked in
the signature-verified ID token (Authlib's Flask client does the protocol).

The first sign-in with an identity (provider, `sub`) links it to an account of the city:

1. an account already linked to that identity;
2. else, when the provider says the email address is verified, the account with that address
   (if that account had not confirmed the address itself, its password is removed: whoever set
   it did not prove they own the address, and the change ends their sessions);
3. else a new account, with the email address only when verified and not someone else's.
"""
import hashlib
import logging
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import click
import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_login import current_user, login_user
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError

from app import crypto
from app.accounts import normalize_email
from app.audit.models import AuditEntry
from app.citizen import ACCOUNT_SECTIONS, bp
from app.citizen.account import after_sign_in_path
from app.models import OidcProvider, User, UserIdentity
from app.models.oidc import DEFAULT_SCOPES
from tenants.cli import tenants_cli
from tenants.context import current_tenant, directory, tenant_context
from tenants.db import db
from tenants.provisioning import actor

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
HTTP_TIMEOUT = 10  # seconds, for every call to a provider (discovery, token, keys, userinfo)
METADATA_MAX_AGE = 3600  # seconds a provider's discovery document is trusted before re-reading
OAUTH_EXTENSION = "authlib.integrations.flask_client"
LINKED, CREATED = "link", "create"  # what a first sign-in did (also in the audit action)


@bp.record_once
def _init_app(state) -> None:
    crypto.check_configuration(state.app.config)
    OAuth(state.app)  # one registry per app, in app.extensions


# -- Providers of the bound city ------------------------------------------------------------


def enabled_providers() -> list[OidcProvider]:
    """The city's providers offered on its sign-in page, in a stable order (one query per
    request at most)."""
    if "oidc_providers" not in g:
        g.oidc_providers = db.session.scalars(
            sa.select(OidcProvider).where(OidcProvider.enabled).order_by(OidcProvider.id)
        ).all()
    return g.oidc_providers


def _enabled_provider_or_404(key: str) -> OidcProvider:
    provider = db.session.scalar(
        sa.select(OidcProvider).where(OidcProvider.key == key, OidcProvider.enabled)
    )
    if provider is None:
        abort(404)
    return provider


@bp.context_processor
def _sign_in_context() -> dict:
    def linked_providers() -> list[OidcProvider]:
        if not current_user.is_authenticated:
            return []
        return db.session.scalars(
            sa.select(OidcProvider).join(UserIdentity, UserIdentity.provider_id == OidcProvider.id)
            .where(UserIdentity.user_id == current_user.id).order_by(OidcProvider.id)
        ).all()

    return {"sign_in_providers": enabled_providers, "linked_sign_in_providers": linked_providers}


ACCOUNT_SECTIONS.append("citizen/account/oidc_linked.html")


def _discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _scopes(provider: OidcProvider) -> str:
    scopes = provider.scopes.split()
    return " ".join(scopes if "openid" in scopes else ["openid", *scopes])


class ProviderUnusable(Exception):
    """The provider can't be reached, its discovery document does not describe it, or its
    stored secret can't be decrypted with the configured keys."""


def _client(provider: OidcProvider):
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
            client_kwargs={"scope": _scopes(provider), "code_challenge_method": "S256",
                           "default_timeout": HTTP_TIMEOUT},
        )
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


# -- The flow --------------------------------------------------------------------------------


def _problem(provider: OidcProvider, title: str, message: str, status: int = 400):
    return render_template("citizen/account/oidc_error.html", provider=provider, title=title,
                           message=message), status


def _unreachable(provider: OidcProvider, error: Exception):
    log.warning("OpenID provider %s of %s unusable: %s", provider.key, current_tenant().slug,
                error)
    return _problem(provider, _("Sign-in is not available right now"), _(
        "%(name)s cannot be reached at the moment. Try again later, or sign in another way.",
        name=provider.display_name), 502)


@bp.get("/account/login/oidc/<provider>")
def oidc_login(provider):
    row = _enabled_provider_or_404(provider)
    try:
        client = _client(row)
        redirect_uri = url_for("citizen.oidc_callback", provider=row.key, _external=True)
        authorization = client.create_authorization_url(redirect_uri)
    except ProviderUnusable as error:
        return _unreachable(row, error)
    # Kept in this city's session cookie under the state: PKCE verifier, nonce, redirect URI.
    client.save_authorize_data(
        redirect_uri=redirect_uri, next=after_sign_in_path(),
        **{key: value for key, value in authorization.items() if key != "url"},
    )
    return redirect(authorization["url"])


@bp.get("/account/login/oidc/<provider>/callback")
def oidc_callback(provider):
    row = _enabled_provider_or_404(provider)
    name = row.display_name
    try:
        client = _client(row)
    except ProviderUnusable as error:
        return _unreachable(row, error)
    state = request.args.get("state") or ""
    state_data = client.framework.get_state_data(session, state)
    error = request.args.get("error")
    if error:
        log.info("OpenID provider %s answered %s: %s", row.key, error,
                 request.args.get("error_description"))
        if state_data:
            client.framework.clear_state_data(session, state)
        if error == "access_denied":
            return _problem(row, _("Sign-in cancelled"), _(
                "%(name)s did not sign you in: the sign-in was cancelled or refused there. "
                "You are not signed in.", name=name))
        return _problem(row, _("Sign-in did not work"), _(
            "%(name)s could not sign you in (it answered “%(error)s”). You are not signed in.",
            name=name, error=re.sub(r"[^a-z_]", "", error)[:40]))
    if not state_data or not state_data.get("nonce") or not request.args.get("code"):
        return _problem(row, _("Sign-in expired"), _(
            "This sign-in was not started in this browser, or it took too long. "
            "You are not signed in: start again."))
    try:
        # Sends the PKCE verifier and redirect URI kept under the state, then verifies the ID
        # token: signature (the provider's JWKS), expiry, nonce, and the issuer and audience
        # given here (Authlib alone would accept a token for another client that names this
        # one as `azp`, OpenID Connect Core §3.1.3.7 says the audience must include it).
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "value": client.server_metadata["issuer"]},
            "aud": {"essential": True, "value": row.client_id},
        })
        claims = token.get("userinfo")
        # Refuse an answer without a verified ID token.
        if not claims or claims.get("nonce") != state_data["nonce"] or not claims.get("sub"):
            raise AuthlibBaseError(error="invalid_id_token", description="no valid ID token")
        claims = dict(claims)
        if "email" not in claims and client.server_metadata.get("userinfo_endpoint"):
            extra = client.userinfo(token=token)
            if extra.get("sub") == claims["sub"]:  # OpenID Connect Core §5.3.2
                claims = {**extra, **claims}
    except requests.RequestException as failure:
        return _unreachable(row, failure)
    except (AuthlibBaseError, JoseError, ValueError) as failure:
        log.warning("OpenID sign-in with %s of %s refused: %r", row.key, current_tenant().slug,
                    failure)
        return _problem(row, _("Sign-in did not work"), _(
            "The answer from %(name)s could not be verified, so you are not signed in. "
            "Start again.", name=name))

    outcome = _account_for(row, claims)
    if outcome is None:
        return _problem(row, _("This account is disabled"), _(
            "The account linked to your %(name)s sign-in is disabled. Contact the city's "
            "service centre.", name=name), 403)
    user, change, password_removed = outcome
    login_user(user)
    if change == LINKED:
        flash(_("Your %(name)s sign-in is now linked to this account.", name=name), "success")
    elif change == CREATED:
        flash(_("Your account is ready: you sign in to it with %(name)s.", name=name), "success")
    if password_removed:
        flash(_("Your email address is now confirmed. For your safety the account's password "
                "was removed; choose a new one under “Change your password” if you want one."),
              "warning")
    return redirect(state_data.get("next") or url_for("citizen.account"))


def _email_verified(claims: dict) -> bool:
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def _account_for(provider: OidcProvider, claims: dict) -> tuple[User, str | None, bool] | None:
    """(account, LINKED or CREATED or None, password removed) for verified claims, or None if
    the account is disabled. Commits. When two first sign-ins of one identity race, the loser
    finds the winner's link on its second try."""
    for attempt in (1, 2):
        try:
            outcome = _link(provider, claims)
            if outcome is not None:
                outcome[0].last_login_at = datetime.now(UTC)
            db.session.commit()
            return outcome
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    return None


def _link(provider: OidcProvider, claims: dict) -> tuple[User, str | None, bool] | None:
    subject = str(claims["sub"])
    email = claims.get("email")
    reported_email = normalize_email(email) if isinstance(email, str) else None
    verified_email = reported_email if _email_verified(claims) else None

    identity = db.session.scalar(sa.select(UserIdentity).where(
        UserIdentity.provider_id == provider.id, UserIdentity.subject == subject))
    if identity is not None:
        identity.email = reported_email
        user = db.session.get(User, identity.user_id)
        return (user, None, False) if user.is_active else None

    password_removed = False
    user = db.session.scalar(sa.select(User).where(User.email == verified_email)) \
        if verified_email else None
    if user is not None:
        if not user.is_active:
            return None
        if user.email_verified_at is None:
            # Nobody had proved owning this address here, so whoever chose the password may
            # not be its owner: the owner keeps the account, the password (and every session
            # signed in with it, see User.get_id) goes.
            user.email_verified_at = datetime.now(UTC)
            password_removed = bool(user.password_hash)
            user.password_hash = None
        change = LINKED
    else:
        user = User(email=verified_email, display_name=str(claims.get("name") or "")[:100],
                    locale=current_tenant().locale,
                    email_verified_at=datetime.now(UTC) if verified_email else None)
        db.session.add(user)
        db.session.flush()
        change = CREATED
    db.session.add(UserIdentity(provider_id=provider.id, subject=subject, user_id=user.id,
                                email=reported_email))
    db.session.add(AuditEntry(
        actor=f"user:{user.id}", action=f"account.oidc_{change}", target=f"user:{user.id}",
        after={"provider": provider.key, "subject": subject, "email": verified_email,
               "password_removed": password_removed}))
    db.session.flush()
    return user, change, password_removed


# -- `flask tenants oidc …` ----------------------------------------------------------------

oidc_cli = AppGroup("oidc", help="The OpenID Connect sign-in providers of a city.")
tenants_cli.add_command(oidc_cli)


def _fail(message: str):
    raise click.ClickException(message)


def _city(slug: str):
    cities = directory()
    cities.mark_stale()
    tenant = cities.get(slug)
    if tenant is None:
        _fail(f"no city with the slug {slug!r}")
    return tenant


def _derive_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")


def _as_dict(provider: OidcProvider) -> dict:
    """What may be shown and audited: everything but the secret."""
    return {"key": provider.key, "name": provider.display_name, "issuer": provider.issuer,
            "client_id": provider.client_id, "scopes": provider.scopes,
            "enabled": provider.enabled}


# -- Adding, changing, enabling providers (the CLI below and the console, app/admin/providers.py)


class ProviderInvalid(ValueError):
    """Settings a provider can't have: `errors` maps a field ("name", "key", "issuer",
    "client_id", "client_secret", "scopes") to a message in the current locale, `codes` the
    same fields to what is wrong ("name", "key", "key_taken", "issuer", "issuer_http",
    "issuer_long", "client_id", "client_secret", "scopes"), in the order checked; `values` are
    the normalized settings."""

    def __init__(self, errors: dict[str, str], codes: dict[str, str], values: dict):
        self.errors, self.codes, self.values = errors, codes, values
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def provider_errors(*, name: str, issuer: str, client_id: str, scopes: str,
                    key: str | None = None, client_secret: str | None = None,
                    secret_required: bool = True) -> tuple[dict, dict[str, tuple[str, str]]]:
    """The normalized settings and, per field, what is wrong with them as (code, message),
    empty when all is well (see ProviderInvalid). `key` None: not checked (an existing
    provider's key does not change); "": made from the name. No database access."""
    name, client_id = (name or "").strip(), (client_id or "").strip()
    issuer, scopes = (issuer or "").strip(), " ".join((scopes or "").split())
    values = {"name": name, "issuer": issuer, "client_id": client_id, "scopes": scopes}
    errors: dict[str, tuple[str, str]] = {}
    if not name or len(name) > 100:
        errors["name"] = "name", _("Enter a name of 1 to 100 characters.")
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
    elif parts.scheme == "http" and current_app.config["CIVIC_ENV"] == "production":
        errors["issuer"] = "issuer_http", _("Enter an https:// URL.")
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
                  client_secret: str | None = None) -> tuple[OidcProvider, bool]:
    """Add a provider to the bound city (`provider` None; `key` "" or None: made from the
    name) or change one (its key stays; an empty `client_secret` keeps the stored one), with
    its audit entry ("oidc_provider.add" or ".edit", never the secret) in the session's
    transaction, flushed, not committed. Returns (provider, whether anything changed); raises
    ProviderInvalid before changing anything."""
    adding = provider is None
    values, errors = provider_errors(
        name=name, issuer=issuer, client_id=client_id, scopes=scopes,
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
    before = None if adding else _as_dict(provider)
    if adding:
        provider = OidcProvider(key=values["key"], enabled=True)
        db.session.add(provider)
    secret_changed = bool(client_secret)
    if secret_changed and not adding:
        try:
            secret_changed = crypto.decrypt(provider.client_secret_encrypted) != client_secret
        except crypto.DecryptionError:
            secret_changed = True
    provider.display_name, provider.issuer = values["name"], values["issuer"]
    provider.client_id, provider.scopes = values["client_id"], values["scopes"]
    if secret_changed:
        provider.client_secret_encrypted = crypto.encrypt(client_secret)
    after = _as_dict(provider)
    if not adding and after == before and not secret_changed:
        return provider, False
    if not adding:  # that the secret changed is audited, never the secret
        before, after = {**before, "secret_changed": False}, {**after,
                                                               "secret_changed": secret_changed}
    db.session.add(AuditEntry(actor=actor_name,
                              action="oidc_provider.add" if adding else "oidc_provider.edit",
                              target=f"oidc_provider:{provider.key}", before=before,
                              after=after))
    db.session.flush()
    return provider, True


def set_provider_enabled(provider: OidcProvider, enabled: bool, actor_name: str) -> bool:
    """Offer a provider or stop offering it, with its audit entry ("oidc_provider.enable" or
    ".disable") in the session's transaction; False (and nothing written) when it already
    was."""
    if provider.enabled == enabled:
        return False
    before = _as_dict(provider)
    provider.enabled = enabled
    db.session.add(AuditEntry(actor=actor_name,
                              action="oidc_provider.enable" if enabled
                              else "oidc_provider.disable",
                              target=f"oidc_provider:{provider.key}", before=before,
                              after=_as_dict(provider)))
    db.session.flush()
    return True


def _find(key: str, slug: str) -> OidcProvider:
    provider = db.session.scalar(sa.select(OidcProvider).where(OidcProvider.key == key))
    if provider is None:
        _fail(f"the city {slug} has no OpenID provider with the key {key!r} "
              f"(see flask tenants oidc list {slug})")
    return provider


def _cli_message(code: str, values: dict, slug: str) -> str:
    """What `flask tenants oidc add` says (in English) for the first ProviderInvalid code."""
    key, issuer = values.get("key", ""), values["issuer"]
    return {
        "name": "--name must be 1 to 100 characters",
        "key": f"the key must be 1 to 40 lowercase letters, digits and inner hyphens, not "
               f"{key!r}" + ("" if key else " (give --key: the name has no such characters)"),
        "key_taken": f"the city {slug} already has an OpenID provider with the key {key!r}",
        "issuer": f"the issuer must be an https:// (or http://) URL without query or "
                  f"fragment, not {issuer!r}",
        "issuer_http": "the issuer must be an https:// URL in production",
        "issuer_long": "the issuer URL is longer than 500 characters",
        "client_id": "--client-id must be 1 to 255 characters",
        "client_secret": "the client secret must not be empty",
        "scopes": "--scopes must include openid (and be at most 200 characters)",
    }[code]


@oidc_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Shown on the button: “Sign in with NAME”.")
@click.option("--issuer", required=True,
              help="The provider's issuer URL (its discovery document is at "
                   "ISSUER/.well-known/openid-configuration).")
@click.option("--client-id", required=True, help="The client id the provider gave the city.")
@click.option("--client-secret", prompt=True, hide_input=True,
              help="The client secret (asked for, unechoed, when not given). Stored encrypted.")
@click.option("--key", help="Short name in URLs, e.g. gov-id (default: made from --name).")
@click.option("--scopes", default=DEFAULT_SCOPES, show_default=True,
              help="Scopes to ask for; must include openid.")
def oidc_add(slug, name, issuer, client_id, client_secret, key, scopes):
    """Let citizens of the city SLUG sign in with an OpenID Connect provider."""
    tenant = _city(slug)
    with tenant_context(tenant):
        try:
            provider, _changed = save_provider(
                None, actor(), name=name, issuer=issuer, client_id=client_id, scopes=scopes,
                key=(key or "").strip(), client_secret=client_secret)
        except ProviderInvalid as error:
            _fail(_cli_message(next(iter(error.codes.values())), error.values, slug))
        key, name = provider.key, provider.display_name
        issuer, client_id = provider.issuer, provider.client_id
        db.session.commit()
    scheme = "https" if current_app.config["CIVIC_ENV"] == "production" else "http"
    click.echo(f"added the OpenID provider {key} ({name}) to the city {slug}")
    click.echo(f"  issuer        {issuer}")
    click.echo(f"  client id     {client_id}")
    click.echo("  register these redirect URIs at the provider:")
    for domain in tenant.domains:
        click.echo(f"    {scheme}://{domain}/account/login/oidc/{key}/callback")


@oidc_cli.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def oidc_list(slug, as_json):
    """List the city's OpenID providers (never their secrets)."""
    import json

    tenant = _city(slug)
    with tenant_context(tenant):
        rows = [_as_dict(provider) for provider in db.session.scalars(
            sa.select(OidcProvider).order_by(OidcProvider.key))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"the city {slug} has no OpenID providers: flask tenants oidc add {slug} "
                   "--name NAME --issuer URL --client-id ID")
        return
    for row in rows:
        status = "enabled" if row["enabled"] else "disabled"
        click.echo(f"{row['key']:<20} {status:<9} {row['name']:<24} {row['issuer']}  "
                   f"(client {row['client_id']})")


def _set_enabled(slug: str, key: str, enabled: bool) -> None:
    tenant = _city(slug)
    verb = "enabled" if enabled else "disabled"
    with tenant_context(tenant):
        provider = _find(key, slug)
        if not set_provider_enabled(provider, enabled, actor()):
            _fail(f"the OpenID provider {key} of the city {slug} is already {verb}")
        db.session.commit()
    click.echo(f"{verb} the OpenID provider {key} of the city {slug}")


@oidc_cli.command("disable")
@click.argument("slug")
@click.argument("key")
def oidc_disable(slug, key):
    """Stop offering a provider: its button goes and its sign-in URLs answer 404. The accounts
    linked to it stay (they sign in with it again once it is enabled)."""
    _set_enabled(slug, key, False)


@oidc_cli.command("enable")
@click.argument("slug")
@click.argument("key")
def oidc_enable(slug, key):
    """Offer a disabled provider again."""
    _set_enabled(slug, key, True)
