"""The city's OAuth 2 authorization server (Authlib) and the protector of the API's
resources. One server serves every city: each query runs in the bound city's schema, so a
client, code or token of another city is never found; tokens also name their city.

Grants: authorization code with PKCE (S256, required of every client), refresh tokens rotated
at each use (a refresh token used twice revokes its whole family), client credentials for
back offices; revocation (RFC 7009). Every issuance is in the city's audit log."""
import os
import secrets
import time
from datetime import UTC, datetime
from functools import wraps

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import current_app, g, request
from flask_babel import gettext as _
from limits import parse
from werkzeug.exceptions import NotFound

from app import audit
from app.accounts.models import User
from app.extensions import limiter
from app.oauth.models import (
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthToken,
    digest,
)
from app.oauth.scopes import ALL_SCOPES, STAFF_SCOPES
from app.rest import ApiBlueprint, Problem
from app.staff.models import StaffMember
from app.staff.permissions import can, staff_of
from tenants.context import current_tenant
from tenants.db import db

ACCESS_TOKEN_LIFETIME = 3600
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def _now() -> datetime:
    return datetime.now(UTC)


def client_actor(client: OAuthClient) -> str:
    return f"oauth-client:{client.client_id}"


def token_actor(token: OAuthToken) -> str:
    """Who the audit log says acted with `token`: its user, through the client."""
    user = token.get_user()
    via = f" via {client_actor(token.client)}"
    return audit.actor_of(user) + via if user is not None else client_actor(token.client)


def query_client(client_id: str) -> OAuthClient | None:
    return db.session.scalar(sa.select(OAuthClient).where(
        OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None)))


def save_token(token: dict, request) -> None:
    """Store a new token's digests in the city (the caller commits), with the audit entry."""
    client, user = request.client, request.user
    previous = getattr(request, "refresh_token", None)  # refreshing: its family goes on
    code = getattr(request, "authorization_code", None)
    now = int(time.time())
    row = OAuthToken(
        city=current_tenant().slug, client_id=client.id, user_id=user.id if user else None,
        access_token_hash=digest(token["access_token"]),
        refresh_token_hash=digest(token["refresh_token"]) if "refresh_token" in token else None,
        family=previous.family if previous else secrets.token_hex(16),
        scope=token.get("scope", ""),
        second_factor=previous.second_factor if previous else bool(code and code.second_factor),
        issued_at=now, expires_in=token["expires_in"],
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if "refresh_token" in token else None)
    db.session.add(row)
    actor = audit.actor_of(user) if user else client_actor(client)
    audit.record(actor, "oauth.token_issued", client_actor(client), None,
                 {"grant_type": request.form.get("grant_type"), "scope": row.scope,
                  "family": row.family})


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256, required of every authorization request (RFC 9700 section 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code, request):
        data = request.payload.data
        db.session.add(OAuthAuthorizationCode(
            code_hash=digest(code), client_id=request.client.id, user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri, scope=request.scope or "",
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            second_factor=bool(g.get("oauth_second_factor")), issued_at=int(time.time())))

    def query_authorization_code(self, code, client):
        row = db.session.scalar(sa.select(OAuthAuthorizationCode).where(
            OAuthAuthorizationCode.code_hash == digest(code),
            OAuthAuthorizationCode.client_id == client.id).with_for_update())
        return row if row is not None and not row.is_expired() else None

    def delete_authorization_code(self, authorization_code):
        db.session.delete(authorization_code)  # used once (the row lock serialises two uses)

    def authenticate_user(self, authorization_code):
        return db.session.get(User, authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token):
        row = db.session.scalar(sa.select(OAuthToken).where(
            OAuthToken.refresh_token_hash == digest(refresh_token)).with_for_update())
        if row is None:
            return None
        if row.refreshed_at is not None or row.revoked_at is not None:
            revoke_family(row.family, "oauth.refresh_token_reused", client_actor(row.client))
            db.session.commit()  # the revocation stands although this request fails
            return None
        return row if time.time() < (row.refresh_expires_at or 0) else None

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        refresh_token.refreshed_at = refresh_token.revoked_at = _now()


class CityRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        hashed = digest(token_string)
        columns = {"access_token": [OAuthToken.access_token_hash],
                   "refresh_token": [OAuthToken.refresh_token_hash]}.get(
            token_type_hint, [OAuthToken.access_token_hash, OAuthToken.refresh_token_hash])
        return db.session.scalar(sa.select(OAuthToken).where(
            sa.or_(*(column == hashed for column in columns))))

    def revoke_token(self, token, request):
        """An access token alone; a refresh token with every token of its family."""
        if token.refresh_token_hash == digest(request.form.get("token", "")):
            revoke_family(token.family, "oauth.token_revoked", client_actor(token.client))
        else:
            token.revoked_at = token.revoked_at or _now()
            audit.record(client_actor(token.client), "oauth.token_revoked",
                         client_actor(token.client), None, {"family": token.family})
        db.session.commit()


def revoke_family(family: str, action: str, actor: str) -> int:
    revoked = db.session.execute(sa.update(OAuthToken).where(
        OAuthToken.family == family, OAuthToken.revoked_at.is_(None)).values(
        revoked_at=_now())).rowcount
    audit.record(actor, action, actor, None, {"family": family, "revoked": revoked})
    return revoked


class CityAuthorizationServer(AuthorizationServer):
    def create_token_response(self, request=None):
        """The token endpoint: the new token and its audit entry are committed together."""
        response = super().create_token_response(request)
        if response.status_code == 200:
            db.session.commit()
        else:
            db.session.rollback()
        return response


authorization = CityAuthorizationServer()
authorization.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
authorization.register_grant(RefreshTokenGrant)
authorization.register_grant(grants.ClientCredentialsGrant)
authorization.register_endpoint(CityRevocationEndpoint)


class CityBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        token = db.session.scalar(sa.select(OAuthToken).where(
            OAuthToken.access_token_hash == digest(token_string)))
        # Found only in the bound city's schema; the city it names must be this one too.
        if token is None or token.city != current_tenant().slug or not token.client.active:
            return None
        return token


class CityResourceProtector(ResourceProtector):
    def raise_error_response(self, error):
        status = error.status_code
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        detail = (_("The access token is missing, expired, revoked or not of this city.")
                  if status == 401 else _("The access token does not allow this: it needs "
                                          "the scope %(scope)s.", scope=" ".join(
                                              g.get("oauth_wanted_scopes", []))))
        raise Problem(status, detail, kind=error.error, headers=headers)


require_oauth = CityResourceProtector()
require_oauth.register_token_validator(CityBearerTokenValidator())


def current_token() -> OAuthToken:
    return g.oauth_token


def citizens_own(model, *criteria, not_found: str | None = None):
    """The token's citizen's row of `model` that matches `criteria`; 404 (with `not_found` as
    its detail) for anyone else's, without saying whether it exists."""
    row = db.session.scalar(sa.select(model).where(
        model.user_id == current_token().user_id, *criteria))
    if row is None:
        raise Problem(404, not_found) if not_found else NotFound()
    return row


def scope_required(scope: str, module: str | None = None, per_record: bool = False):
    """A view of the API that needs an access token of this city with `scope`. Staff scopes
    also need, where the token has a user, that user's second factor at issuance and the
    console permission the scope stands for (on `module`), as it is now; `per_record`: the
    view checks the permission on each record itself (payments of several modules), with
    `acting_staff()`. The OpenAPI document says the view needs `scope`.

    The check runs before the request's parameters are read (`check_token_first`, through the
    `oauth_requirement` that flask-smorest's decorators copy outwards), so a request without
    a valid token learns nothing of what the view accepts: 401, never a 422 first."""
    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            _authorize(scope, module, per_record)
            return view(*args, **kwargs)

        guarded.oauth_requirement = (scope, module, per_record)
        return ApiBlueprint.doc(security=[{"oauth2": [scope]}])(guarded)

    return decorator


def _authorize(scope: str, module: str | None, per_record: bool) -> None:
    """Once per request: the token, the client's rate limit and a staff token's standing."""
    if g.get("oauth_authorized_scope") == scope:
        return
    g.oauth_wanted_scopes = [scope]
    try:
        token = require_oauth.acquire_token([scope])
    except OAuth2Error as error:
        require_oauth.raise_error_response(error)
    g.oauth_token = token
    throttle(f"client:{token.client.client_id}")
    if scope in STAFF_SCOPES and token.user_id is not None:
        if not token.second_factor or not (
                per_record or can(acting_staff(), STAFF_SCOPES[scope], module)):
            raise_staff_refusal()
    g.oauth_authorized_scope = scope


def check_token_first() -> None:
    """Before the view and its decorators: the token of a view that needs a scope."""
    view = current_app.view_functions.get(request.endpoint)
    requirement = getattr(view, "oauth_requirement", None)
    if requirement is not None:
        _authorize(*requirement)


def acting_staff() -> StaffMember | None:
    """The staff member the current token acts as; None for a back office (a service
    client, which city administrators gave its staff scopes)."""
    token = current_token()
    return staff_of(token.get_user()) if token.user_id is not None else None


def api_actor() -> tuple[int | None, str]:
    """The account the current token acts for (None: a back office) and who the audit log
    names: the user through the client, or the client."""
    token = current_token()
    return token.user_id, token_actor(token)


def staff_may(action: str, module: str | None) -> bool:
    """Whether the current staff token may do `action` on `module`: a back office may do
    what its scopes say; a staff member what their role allows now."""
    return current_token().user_id is None or can(acting_staff(), action, module)


def raise_staff_refusal():
    raise Problem(403, _("Your staff role does not allow this (or the token was issued "
                         "without the console's second factor)."),
                  kind="insufficient_permission")


def throttle(key: str) -> None:
    """Count a call of the API against `key`'s budget in this city (API_RATE_LIMIT: per
    client, or per address for calls without a token); 429 beyond it."""
    rate = parse(current_app.config.get("API_RATE_LIMIT", "600/minute"))
    city = current_tenant().slug
    if not limiter.limiter.hit(rate, "api", city, key):
        reset = limiter.limiter.get_window_stats(rate, "api", city, key).reset_time
        raise Problem(429, _("This client sent too many requests. Wait, then try again."),
                      headers={"Retry-After": str(max(int(reset - time.time()), 1))})


def throttle_client() -> None:
    """The token and revocation endpoints count per client id (else per address)."""
    client_id = (request.authorization.username if request.authorization else None) or (
        request.form.get("client_id"))
    throttle(f"client:{client_id}" if client_id else f"address:{request.remote_addr}")


def throttle_address() -> None:
    throttle(f"address:{request.remote_addr}")


def init_app(app) -> None:
    if app.config["CIVIC_ENV"] != "production" and app.config.get("PUBLIC_SCHEME") == "http":
        # Authlib refuses OAuth over http; development and tests serve http. A production
        # process never sets this (PUBLIC_SCHEME must be https there), so Authlib's check holds.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {
        "authorization_code": ACCESS_TOKEN_LIFETIME, "refresh_token": ACCESS_TOKEN_LIFETIME,
        "client_credentials": ACCESS_TOKEN_LIFETIME})
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(ALL_SCOPES))
    authorization.init_app(app, query_client=query_client, save_token=save_token)
