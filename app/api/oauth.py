"""The OAuth 2 endpoints of the city's host: the consent page (authorize), token and
revocation, and the server's metadata (RFC 8414)."""
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import Blueprint, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SubmitField

from app.oauth.scopes import ALL_SCOPES, is_staff_scope, label
from app.oauth.server import authorization, throttle_client
from app.staff.permissions import city_console, staff_of
from app.web.navigation import current_path
from tenants.db import db

bp = Blueprint("api_oauth", __name__, url_prefix="/api/v1/oauth")


class ConsentForm(FlaskForm):
    allow = SubmitField()
    deny = SubmitField()


def _error_page(code: str, description: str | None):
    return render_template("api/consent_error.html", code=code, description=description), 400


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    """The city's consent page: the signed-in citizen (or staff member) lets the app act for
    them with the scopes it asks for. Staff scopes need the console's second factor passed in
    this sign-in first."""
    if not current_user.is_authenticated:
        return redirect(url_for("citizen.login", next=current_path()))
    try:
        grant = authorization.get_consent_grant(end_user=current_user)
    except OAuth2Error as error:
        return _error_page(error.error, error.description)
    scopes = scope_to_list(grant.request.scope or "")
    if any(is_staff_scope(scope) for scope in scopes):
        if staff_of(current_user) is None:
            return _error_page("access_denied", _(
                "This app asks to act as city staff, and you are not on the city's staff."))
        if not city_console.second_factor_passed():
            # Staff tokens are issued only after the console's second factor (app/staff).
            return redirect(url_for("admin.second_factor", next=current_path()))
        g.oauth_second_factor = True
    form = ConsentForm()
    if form.validate_on_submit():
        response = authorization.create_authorization_response(
            grant_user=current_user if form.allow.data else None, grant=grant)
        db.session.commit()
        return response
    return render_template("api/consent.html", form=form, client=grant.client,
                           scopes=[(scope, label(scope)) for scope in scopes])


@bp.route("/token", methods=["POST"])
def issue_token():
    throttle_client()
    return authorization.create_token_response()


@bp.route("/revoke", methods=["POST"])
def revoke_token():
    throttle_client()
    return authorization.create_endpoint_response("revocation")


@bp.route("/metadata")
def metadata():
    """RFC 8414 authorization server metadata (relative to the city's host)."""
    return jsonify({
        "authorization_endpoint": url_for(".authorize"),
        "token_endpoint": url_for(".issue_token"),
        "revocation_endpoint": url_for(".revoke_token"),
        "scopes_supported": list(ALL_SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic",
                                                  "client_secret_post"],
    })

