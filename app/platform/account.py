"""The vendor staff's account pages: signing in (password, then the second factor every vendor
staff member must have: app/platform/auth.py), setting a password from the link that
`flask platform create-staff` prints, and the console's language switcher."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app import accounts
from app.extensions import limiter
from app.i18n import LANGUAGES
from app.platform import audit
from app.platform.auth import platform_console, platform_sign_ins, sign_in, sign_out
from app.platform.blueprint import bp
from app.platform.forms import SetPasswordForm
from app.web.forms import form_status
from app.web.navigation import safe_next
from tenants.db import db
from tenants.models import PlatformStaff

SET_PASSWORD_LIFETIME = 72 * 3600


def _address_key() -> str:
    return f"platform:{request.remote_addr}"


platform_console.add_routes(bp)  # /console/login, /console/2fa[/setup], /console/logout


def _set_password_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="platform-set-password")


def set_password_token(staff: PlatformStaff) -> str:
    """A link's token to set the account's password: valid SET_PASSWORD_LIFETIME, and only
    while the password is the one it was made for (so once)."""
    return _set_password_serializer().dumps({"sid": staff.id, "pw": staff.password_fingerprint()})


def _staff_for_token(token: str) -> PlatformStaff | None:
    try:
        payload = _set_password_serializer().loads(token, max_age=SET_PASSWORD_LIFETIME)
    except BadSignature:  # SignatureExpired too
        return None
    staff = db.session.get(PlatformStaff, payload.get("sid"))
    if staff is None or not staff.active or staff.password_fingerprint() != payload.get("pw"):
        return None
    return staff


@bp.route("/console/set-password/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", key_func=_address_key, methods=["POST"])
def set_password(token):
    staff = _staff_for_token(token)
    if staff is None:
        return render_template("platform/console/link_invalid.html"), 400
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return render_template("platform/console/set_password.html", form=form,
                               staff=staff), form_status(form)
    staff.password_hash = accounts.hash_password(form.password.data)
    audit.record(audit.actor_of(staff), "staff.password_set", None, staff_id=staff.id)
    db.session.commit()
    sign_out()
    platform_sign_ins.end_all(staff.id)  # a new password ends every other sign-in
    sign_in(staff)
    flash(_("Your password is set."), "success")
    return redirect(url_for("platform.setup_second_factor")
                    if staff.totp_confirmed_at is None else url_for("platform.second_factor"))


@bp.get("/language/<code>")
def set_language(code):
    """The console's language switcher (the choice is kept in the session)."""
    if code not in LANGUAGES:
        return redirect(url_for("platform.landing"))
    session["locale"] = code
    return redirect(safe_next(request.args.get("next"), url_for("platform.landing")))
