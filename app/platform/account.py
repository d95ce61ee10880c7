"""Signing in to the platform console: password (Argon2, app/accounts.py), then the TOTP second
factor (app/second_factor.py, shared with the city consoles), required of every vendor staff
member; setting a password from the link `flask platform create-staff` prints; signing out."""
from datetime import UTC, datetime
from functools import partial

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app import accounts, second_factor
from app.admin.forms import CodeForm, SecondFactorForm
from app.extensions import limiter
from app.i18n import LANGUAGES
from app.platform import audit, bp
from app.platform.auth import (
    current_platform_staff,
    find_staff,
    gate,
    pass_second_factor,
    platform_second_factor,
    second_factor_passed,
    sign_in,
    sign_out,
)
from app.platform.forms import SetPasswordForm, StaffLoginForm
from app.web.forms import form_status
from app.web.navigation import safe_next
from tenants.db import db
from tenants.models import PlatformStaff

PENDING_SECRET_KEY = "platform_pending_totp"
SET_PASSWORD_LIFETIME = 72 * 3600



def _failed(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    return f"platform:account:{(request.form.get('email') or '').strip().lower()}"


def _address_key() -> str:
    return f"platform:{request.remote_addr}"


def _staff_key() -> str:
    staff = current_platform_staff()
    return f"platform:2fa:{staff.id if staff else request.remote_addr}"


def _next() -> str:
    return safe_next(request.args.get("next"), url_for("platform.fleet"))


def _record_by(staff: PlatformStaff, action: str, **detail) -> None:
    """The platform audit entry of the staff member's own second-factor step
    (app/second_factor.py)."""
    audit.record(audit.actor_of(staff), action, None, **detail)


# -- password ------------------------------------------------------------------------------------

@bp.route("/console/login", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_account_key, methods=["POST"],
               deduct_when=_failed)
@limiter.limit("30 per 15 minutes", key_func=_address_key, methods=["POST"],
               deduct_when=_failed)
def login():
    if current_platform_staff() is not None:
        return redirect(_next())
    form = StaffLoginForm()
    if not form.validate_on_submit():
        return render_template("platform/console/login.html", form=form), form_status(form)
    staff = find_staff(form.email.data)
    if not accounts.check_password(staff.password_hash if staff else None, form.password.data) \
            or not staff.active:
        form.password.errors.append(_("The email address and password do not match a vendor "
                                      "staff account."))
        return render_template("platform/console/login.html", form=form), 401
    staff.password_hash = accounts.rehashed(staff.password_hash, form.password.data)
    staff.last_login_at = datetime.now(UTC)
    db.session.commit()
    sign_in(staff)
    return redirect(_next())


def _set_password_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="platform-set-password")


def set_password_token(staff: PlatformStaff) -> str:
    """A link's token to set the account's password: valid SET_PASSWORD_LIFETIME, and only
    while the password is the one it was made for (so once)."""
    return _set_password_serializer().dumps({"sid": staff.id, "pw": staff.session_id()})


def _staff_for_token(token: str) -> PlatformStaff | None:
    try:
        payload = _set_password_serializer().loads(token, max_age=SET_PASSWORD_LIFETIME)
    except BadSignature:  # SignatureExpired too
        return None
    staff = db.session.get(PlatformStaff, payload.get("sid"))
    if staff is None or not staff.active or staff.session_id() != payload.get("pw"):
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
    sign_in(staff)
    flash(_("Your password is set."), "success")
    return redirect(url_for("platform.setup_second_factor")
                    if staff.totp_confirmed_at is None else url_for("platform.second_factor"))


# -- second factor -------------------------------------------------------------------------------

@bp.route("/console/2fa", methods=["GET", "POST"], endpoint="second_factor")
@limiter.limit("10 per 15 minutes", key_func=_staff_key, methods=["POST"], deduct_when=_failed)
def second_factor_page():
    answer = gate("enrolled")
    if answer is not None:
        return answer
    if second_factor_passed():
        return redirect(_next())
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return render_template("platform/console/second_factor.html", form=form), form_status(form)
    staff = current_platform_staff()
    if not second_factor.check_sign_in_code(platform_second_factor, staff, form,
                                            partial(_record_by, staff)):
        return render_template("platform/console/second_factor.html", form=form), 401
    pass_second_factor()
    return redirect(_next())


@bp.route("/console/2fa/setup", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_staff_key, methods=["POST"], deduct_when=_failed)
def setup_second_factor():
    answer = gate("signed_in")
    if answer is not None:
        return answer
    staff = current_platform_staff()
    if staff.totp_confirmed_at is not None:
        return redirect(url_for("platform.fleet"))
    secret = second_factor.pending_secret(session, PENDING_SECRET_KEY, staff.session_id())
    form = CodeForm()
    status = form_status(form)
    if form.validate_on_submit():
        codes = second_factor.confirm_enrolment(platform_second_factor, staff, secret, form,
                                                partial(_record_by, staff))
        if codes is not None:
            session.pop(PENDING_SECRET_KEY, None)
            pass_second_factor()
            return render_template("platform/console/recovery_codes.html", codes=codes)
        status = 401
    return render_template("platform/console/setup.html", form=form, **second_factor.enrolment(
        secret, staff.email, _("CivicCloud platform console"))), status


@bp.post("/console/logout")
def logout():
    sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("platform.login"))


@bp.get("/language/<code>")
def set_language(code):
    """The console's language switcher (the choice is kept in the session)."""
    if code not in LANGUAGES:
        return redirect(url_for("platform.landing"))
    session["locale"] = code
    return redirect(safe_next(request.args.get("next"), url_for("platform.landing")))
