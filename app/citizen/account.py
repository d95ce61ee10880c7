"""Citizen accounts: register, verify the email address and the mobile number, sign in and out,
reset (by email link or SMS code) and change the password, edit the profile, see and sign out
the signed-in devices. Every account belongs to the city of the host it was made on.

Registration and reset requests answer alike whether an account exists — the same page, after
the same work (a password hashed, a message sent or a code made) — so neither tells a stranger
who has an account here.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import accounts
from app.accounts import RESET_PASSWORD, VERIFY_EMAIL, InvalidLink, codes
from app.accounts.forms import LoginForm
from app.accounts.models import User
from app.accounts.sessions import device_summary
from app.accounts.throttle import request_throttle, sign_in_throttle, typed_identifier
from app.citizen.blueprint import bp
from app.citizen.forms import (
    ChangePasswordForm,
    CodeForm,
    ForgotPasswordForm,
    ProfileForm,
    RegisterForm,
    ResetByCodeForm,
    ResetPasswordForm,
)
from app.modules import discover
from app.notifications import notify
from app.notifications.channels import send_text
from app.notifications.mail import send_mail
from app.notifications.models import Notification
from app.payments import Payment, with_descriptions
from app.payments.service import payment_description
from app.privacy.notice import current_notice
from app.web.forms import form_status
from app.web.links import external_url
from app.web.navigation import safe_next
from tenants.context import current_tenant
from tenants.db import db

bp.add_app_template_global(device_summary, "device_summary")
CODE_FAILED = 401
RESET_MOBILE_KEY = "reset_mobile"  # the number a reset code was asked for, on this browser


def _city_scope() -> str:
    return f"city:{current_tenant().slug}"


def signed_in_scope() -> str:
    return f"{_city_scope()}:user:{current_user.id}" if current_user.is_authenticated else (
        _city_scope())


def after_sign_in_path() -> str:
    """Where to go after signing in: the `next` path of this site, else "My account"."""
    return safe_next(request.args.get("next"), url_for("citizen.account"))


def _city_name(locale: str | None = None) -> str:
    tenant = current_tenant()
    return tenant.display_name(locale or tenant.locale)


def _send_verification(user: User) -> None:
    link = external_url("citizen.verify_email",
                        token=accounts.make_link_token(VERIFY_EMAIL, user))
    with force_locale(user.locale or current_tenant().locale):
        send_mail(user.email, _("Confirm your email address for %(city)s",
                                city=_city_name(user.locale)),
                  _("Open this link to confirm your email address (valid for 48 hours):\n\n"
                    "%(link)s", link=link))


def _send_code(user: User, purpose: str) -> None:
    """Text the account's mobile number a new code for `purpose` (in the current
    transaction)."""
    code = codes.issue(user, purpose)
    with force_locale(user.locale or current_tenant().locale):
        body = (_("%(code)s is your code to confirm this number for %(city)s. It works once, "
                  "for %(minutes)d minutes. Do not give it to anyone.", code=code,
                  city=_city_name(user.locale), minutes=codes.CODE_MINUTES)
                if purpose == codes.VERIFY_MOBILE else
                _("%(code)s is your code to choose a new password at %(city)s. It works once, "
                  "for %(minutes)d minutes. If you did not ask for it, ignore this message.",
                  code=code, city=_city_name(user.locale), minutes=codes.CODE_MINUTES))
    send_text(user.mobile, body)


def _tell_owner_of(user: User, by_email: bool) -> None:
    """Someone tried to register with this account's address or number: tell its owner."""
    with force_locale(user.locale or current_tenant().locale):
        city = _city_name(user.locale)
        if by_email:
            send_mail(user.email, _("You already have an account at %(city)s", city=city), _(
                "Someone, perhaps you, tried to register at %(city)s with this email address, "
                "which has an account already. Sign in here:\n\n%(link)s\n\nForgot the "
                "password? Reset it on the sign-in page. If it was not you, ignore this message.",
                city=city, link=external_url("citizen.login")))
        else:
            send_text(user.mobile, _(
                "Someone, perhaps you, tried to register at %(city)s with this number, which "
                "has an account already. Sign in, or reset the password by SMS code.",
                city=city))


@bp.route("/account/register", methods=["GET", "POST"])
@request_throttle(_city_scope, typed_identifier("email", "mobile"), per_address="20 per hour")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("citizen.account"))
    form, notice = RegisterForm(), current_notice()
    if not form.validate_on_submit() or not form.accepted(notice.version):
        return render_template("citizen/account/register.html", form=form, notice=notice), (
            form_status(form))
    fields = form.normalized
    password_hash = accounts.hash_password(form.password.data)  # on both paths: the same time
    owners = {name: accounts.find_user(fields[name]) for name in ("email", "mobile")
              if fields[name]}
    if any(owners.values()):
        for name, owner in owners.items():
            if owner is not None:
                _tell_owner_of(owner, by_email=name == "email")
    else:
        # The account keeps the language its citizen registered in (the page's).
        user = User(**fields, password_hash=password_hash, locale=str(get_locale()),
                    privacy_version=notice.version, privacy_accepted_at=datetime.now(UTC))
        db.session.add(user)
        db.session.flush()
        if user.email:
            _send_verification(user)
        if user.mobile:
            _send_code(user, codes.VERIFY_MOBILE)
    db.session.commit()
    return render_template("citizen/account/register_sent.html", email=fields["email"],
                           mobile=fields["mobile"])


@bp.route("/account/verify/<token>")
def verify_email(token):
    try:
        user = accounts.user_for_link(VERIFY_EMAIL, token)
    except InvalidLink:
        return render_template("citizen/account/link_invalid.html"), 400
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
        db.session.commit()
    flash(_("Your email address %(email)s is confirmed.", email=user.email), "success")
    return redirect(url_for("citizen.account" if current_user.is_authenticated
                            else "citizen.login"))


@bp.route("/account/login", methods=["GET", "POST"])
@sign_in_throttle(_city_scope, typed_identifier("identifier"))
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/login.html", form=form), (
            form_status(form))
    user = accounts.authenticate_form(form)
    if user is None:
        return render_template("citizen/account/login.html", form=form), 401
    accounts.sign_in(user)
    return redirect(after_sign_in_path())


@bp.post("/account/logout")
def logout():
    accounts.sign_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("citizen.home"))


@bp.get("/account/")
@login_required
def account():
    return render_template("citizen/account/index.html",
                           devices=accounts.sign_ins.of(current_user.id),
                           this_device=accounts.current_sign_in(), code_form=CodeForm())


@bp.post("/account/devices/<int:device_id>/sign-out")
@login_required
def sign_out_device(device_id):
    """Sign out one of the account's devices (this one too)."""
    if not accounts.sign_ins.end_one(current_user.id, device_id):
        abort(404)
    db.session.commit()
    if accounts.current_sign_in().id == device_id:
        accounts.sign_out()
        flash(_("You are signed out."), "success")
        return redirect(url_for("citizen.home"))
    flash(_("That device is signed out."), "success")
    return redirect(url_for("citizen.account"))


@bp.post("/account/devices/sign-out-others")
@login_required
def sign_out_other_devices():
    count = accounts.sign_ins.end_all(current_user.id, keep=accounts.current_sign_in())
    db.session.commit()
    flash(_("Your other devices are signed out (%(count)d).", count=count), "success")
    return redirect(url_for("citizen.account"))


@bp.route("/account/password/forgot", methods=["GET", "POST"])
@request_throttle(_city_scope, typed_identifier("identifier"))
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/forgot.html", form=form), (
            form_status(form))
    identifier = form.identifier.data.strip()
    user = accounts.find_user(identifier)
    user = user if user is not None and user.is_active else None
    if "@" not in identifier:  # a mobile number: a code by SMS
        if user is not None:
            _send_code(user, codes.RESET_PASSWORD)
        else:
            codes.issue_for_nobody(codes.RESET_PASSWORD)
        db.session.commit()
        session[RESET_MOBILE_KEY] = accounts.normalize_mobile(identifier)
        return redirect(url_for("citizen.reset_password_by_code"))
    with force_locale(user.locale if user and user.locale else current_tenant().locale):
        if user is not None:
            link = external_url("citizen.reset_password",
                                token=accounts.make_link_token(RESET_PASSWORD, user))
            send_mail(user.email, _("Reset your password"), _(
                "Open this link to choose a new password (valid for one hour, once):\n\n"
                "%(link)s\n\nIf you did not ask for this, ignore this message.", link=link))
        else:  # the same work and a message too, which tells only the address's owner
            send_mail(accounts.normalize_email(identifier), _("Reset your password"), _(
                "Someone, perhaps you, asked to reset the password of an account with this "
                "address at %(city)s, but there is none. Perhaps the account uses another "
                "address or a mobile number. If it was not you, ignore this message.",
                city=_city_name()))
    return render_template("citizen/account/forgot_sent.html", email=identifier)


def _password_changed(user: User, keep=None) -> None:
    """After a new password: every other sign-in of the account ends; its owner is told."""
    accounts.sign_ins.end_all(user.id, keep=keep)
    notify(user, "password_changed", link=external_url("citizen.account"))


@bp.route("/account/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user = accounts.user_for_link(RESET_PASSWORD, token)
    except InvalidLink:
        return render_template("citizen/account/link_invalid.html"), 400
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/reset.html", form=form), (
            form_status(form))
    user.password_hash = accounts.hash_password(form.password.data)
    _password_changed(user)
    db.session.commit()
    accounts.sign_out()
    flash(_("Your password is changed. Sign in with the new one."), "success")
    return redirect(url_for("citizen.login"))


@bp.route("/account/password/reset-by-code", methods=["GET", "POST"])
@sign_in_throttle(_city_scope, lambda: session.get(RESET_MOBILE_KEY) or "",
                  failed_status=CODE_FAILED)
def reset_password_by_code():
    mobile = session.get(RESET_MOBILE_KEY)
    if not mobile:
        return redirect(url_for("citizen.forgot_password"))
    form = ResetByCodeForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/reset_code.html", form=form, mobile=mobile), (
            form_status(form))
    user = accounts.find_user(mobile)
    user = user if user is not None and user.is_active else None
    if not codes.redeem(user, codes.RESET_PASSWORD, form.code.data):
        db.session.commit()  # the try counts
        form.code.errors.append(_("That code is not right, or it has expired or been used. "
                                  "Check the latest text message, or ask for a new code."))
        return render_template("citizen/account/reset_code.html", form=form,
                               mobile=mobile), CODE_FAILED
    user.password_hash = accounts.hash_password(form.password.data)
    user.mobile_verified_at = user.mobile_verified_at or datetime.now(UTC)
    _password_changed(user)
    db.session.commit()
    accounts.sign_out()
    flash(_("Your password is changed. Sign in with the new one."), "success")
    return redirect(url_for("citizen.login"))


@bp.post("/account/mobile/code")
@login_required
@request_throttle(signed_in_scope, lambda: str(current_user.id))
def send_mobile_code():
    if not current_user.mobile or current_user.mobile_verified_at is not None:
        abort(400)
    _send_code(current_user, codes.VERIFY_MOBILE)
    db.session.commit()
    flash(_("We sent a code to %(mobile)s. It works for %(minutes)d minutes.",
            mobile=current_user.mobile, minutes=codes.CODE_MINUTES), "success")
    return redirect(url_for("citizen.account"))


@bp.post("/account/mobile/verify")
@login_required
@sign_in_throttle(signed_in_scope, lambda: str(current_user.id), failed_status=CODE_FAILED)
def verify_mobile():
    form = CodeForm()
    if not current_user.mobile or current_user.mobile_verified_at is not None:
        abort(400)
    if form.validate_on_submit() and codes.redeem(current_user, codes.VERIFY_MOBILE,
                                                  form.code.data):
        current_user.mobile_verified_at = datetime.now(UTC)
        db.session.commit()
        flash(_("Your mobile number %(mobile)s is confirmed.", mobile=current_user.mobile),
              "success")
        return redirect(url_for("citizen.account"))
    db.session.commit()  # the try counts
    if not form.code.errors:
        form.code.errors.append(_("That code is not right, or it has expired or been used. "
                                  "Check the latest text message, or ask for a new code."))
    return render_template("citizen/account/index.html", devices=accounts.sign_ins.of(
        current_user.id), this_device=accounts.current_sign_in(), code_form=form), (
        CODE_FAILED)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if current_user.password_hash and not accounts.check_password(
                current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("That is not your current password."))
        else:
            current_user.password_hash = accounts.hash_password(form.password.data)
            _password_changed(current_user, keep=accounts.current_sign_in())
            db.session.commit()
            flash(_("Your password is changed; your other devices are signed out."), "success")
            return redirect(url_for("citizen.account"))
    return render_template("citizen/account/password.html", form=form), (
        form_status(form))


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if not form.validate_on_submit():
        return render_template("citizen/account/profile.html", form=form), (
            form_status(form))
    current_user.display_name = (form.display_name.data or "").strip()
    current_user.locale = form.locale.data
    db.session.commit()
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("citizen.account"))


@bp.get("/account/data.json")
@login_required
def download_data():
    """The citizen's own data as JSON: the account, its sign-ins, notifications and payments,
    and each module's records of the citizen (its `personal_data`, by module key; also of
    modules the city has turned off since)."""
    user = current_user
    sign_ins = accounts.sign_ins.of(user.id)
    notifications = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id).order_by(Notification.id)).all()
    payments = with_descriptions(db.session.scalars(sa.select(Payment).where(
        Payment.user_id == user.id).order_by(Payment.id)).all())
    data = {
        "city": _city_name(str(get_locale())),
        "account": {"email": user.email, "mobile": user.mobile, "name": user.display_name,
                    "language": user.locale, "created_at": _iso(user.created_at),
                    "email_confirmed_at": _iso(user.email_verified_at),
                    "mobile_confirmed_at": _iso(user.mobile_verified_at),
                    "last_sign_in_at": _iso(user.last_login_at)},
        "sign_ins": [{"browser": device.user_agent, "since": _iso(device.created_at),
                      "last_seen_at": _iso(device.last_seen_at)} for device in sign_ins],
        "notifications": [{"at": _iso(n.created_at), "channel": n.channel, "to": n.recipient,
                           "subject": n.subject, "body": n.body, "status": n.status}
                          for n in notifications],
        "payments": [{"reference": p.reference, "description": payment_description(p),
                      "amount_fen": p.amount_fen, "refunded_fen": p.refunded_fen,
                      "status": p.status, "created_at": _iso(p.created_at),
                      "paid_at": _iso(p.paid_at), "receipt_number": p.receipt_number}
                     for p in payments],
        "services": {module.key: module.personal_data(user) for module in discover().values()
                     if module.personal_data is not None},
    }
    response = jsonify(data)
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    response.headers["Cache-Control"] = "no-store"
    return response


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


@bp.post("/account/verify/resend")
@login_required
@request_throttle(signed_in_scope, lambda: str(current_user.id))
def resend_verification():
    if not current_user.email or current_user.email_verified_at is not None:
        abort(400)
    _send_verification(current_user)
    flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("citizen.account"))
