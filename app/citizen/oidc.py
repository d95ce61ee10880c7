"""Signing in with the city's OpenID Connect providers (app/oidc/): the redirect to the provider
and its answer."""
import logging
import re

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from joserfc.errors import JoseError

from app import accounts
from app.citizen.account import after_sign_in_path
from app.citizen.blueprint import bp
from app.oidc import enabled_providers
from app.oidc.client import ProviderUnusable, client_for
from app.oidc.linking import CREATED, LINKED, account_for
from app.oidc.models import OidcProvider, UserIdentity
from app.web.links import external_url, request_host
from tenants.context import current_tenant
from tenants.db import db

log = logging.getLogger(__name__)


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


def _problem(provider: OidcProvider, title: str, message: str, status: int = 400):
    return render_template("citizen/account/oidc_error.html", provider=provider, title=title,
                           message=message), status


def _unreachable(provider: OidcProvider, error: Exception):
    log.warning("OpenID provider %s of %s unusable: %s", provider.key, current_tenant().slug,
                error)
    return _problem(provider, _("Sign-in is not available right now"), _(
        "%(name)s cannot be reached at the moment. Try again later, or sign in another way.",
        name=provider.display_name_for()), 502)


@bp.get("/account/login/oidc/<provider>")
def oidc_login(provider):
    row = _enabled_provider_or_404(provider)
    try:
        client = client_for(row)
        redirect_uri = external_url("citizen.oidc_callback", host=request_host(),
                                    provider=row.key)
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
    name = row.display_name_for()
    try:
        client = client_for(row)
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

    outcome = account_for(row, claims)
    if outcome is None:
        return _problem(row, _("This account is disabled"), _(
            "The account linked to your %(name)s sign-in is disabled. Contact the city's "
            "service centre.", name=name), 403)
    user, change, password_removed = outcome
    accounts.sign_in(user)
    if change == LINKED:
        flash(_("Your %(name)s sign-in is now linked to this account.", name=name), "success")
    elif change == CREATED:
        flash(_("Your account is ready: you sign in to it with %(name)s.", name=name), "success")
    if password_removed:
        flash(_("Your email address is now confirmed. For your safety the account's password "
                "was removed; choose a new one under “Change your password” if you want one."),
              "warning")
    return redirect(state_data.get("next") or url_for("citizen.account"))
