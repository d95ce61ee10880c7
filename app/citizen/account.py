"""Citizen accounts: register, verify email, sign in and out, reset and change the password,
edit the profile. Every account belongs to the city of the host it was made on."""
from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import accounts
from app.accounts import RESET_PASSWORD, VERIFY_EMAIL, InvalidLink
from app.accounts.forms import LoginForm
from app.accounts.models import User
from app.citizen.blueprint import bp
from app.citizen.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.extensions import limiter
from app.notifications import notify
from app.notifications.mail import send_mail
from app.web.forms import form_status
from app.web.navigation import safe_next
from tenants.context import current_tenant
from tenants.db import db


def _account_key() -> str:
    """Sign-in attempts also count per account: the identifier as typed, in this city."""
    return f"{current_tenant().slug}:account:{(request.form.get('identifier') or '').lower()}"


def _failed_sign_in(response) -> bool:
    return response.status_code == 401


def after_sign_in_path() -> str:
    """Where to go after signing in: the `next` path of this site, else "My account"."""
    return safe_next(request.args.get("next"), url_for("citizen.account"))


def _send_verification(user: User) -> None:
    link = url_for("citizen.verify_email", token=accounts.make_link_token(VERIFY_EMAIL, user),
                   _external=True)
    city = current_tenant().display_name(user.locale or current_tenant().locale)
    send_mail(user.email, _("Confirm your email address for %(city)s", city=city),
              _("Open this link to confirm your email address (valid for 48 hours):\n\n%(link)s",
                link=link))


@bp.route("/account/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("citizen.account"))
    form = RegisterForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/register.html", form=form), (
            form_status(form))
    user = User(**form.normalized, password_hash=accounts.hash_password(form.password.data),
                locale=current_tenant().locale)
    db.session.add(user)
    db.session.flush()
    if user.email:
        _send_verification(user)
    db.session.commit()
    login_user(user)
    flash(_("Your account is ready.") + (
        " " + _("We sent a link to %(email)s: open it to confirm the address.", email=user.email)
        if user.email else ""), "success")
    return redirect(url_for("citizen.account"))


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
@limiter.limit("10 per 15 minutes", key_func=_account_key, methods=["POST"],
               deduct_when=_failed_sign_in)
@limiter.limit("30 per 15 minutes", methods=["POST"], deduct_when=_failed_sign_in)
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/login.html", form=form), (
            form_status(form))
    user = accounts.authenticate_form(form)
    if user is None:
        return render_template("citizen/account/login.html", form=form), 401
    login_user(user)
    return redirect(after_sign_in_path())


@bp.post("/account/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("citizen.home"))


@bp.get("/account/")
@login_required
def account():
    return render_template("citizen/account/index.html")


@bp.route("/account/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("citizen/account/forgot.html", form=form), (
            form_status(form))
    user = accounts.find_user(form.email.data)
    if user is not None and user.is_active:
        link = url_for("citizen.reset_password",
                       token=accounts.make_link_token(RESET_PASSWORD, user), _external=True)
        send_mail(user.email, _("Reset your password"),
                  _("Open this link to choose a new password (valid for one hour, once):\n\n"
                    "%(link)s\n\nIf you did not ask for this, ignore this message.", link=link))
    # The same answer whether or not the account exists.
    return render_template("citizen/account/forgot_sent.html", email=form.email.data)


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
    notify(user, "password_changed")
    db.session.commit()
    logout_user()
    flash(_("Your password is changed. Sign in with the new one."), "success")
    return redirect(url_for("citizen.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if current_user.password_hash and accounts.authenticate(
                current_user.email or current_user.mobile, form.current_password.data) is None:
            db.session.rollback()
            form.current_password.errors.append(_("That is not your current password."))
        else:
            current_user.password_hash = accounts.hash_password(form.password.data)
            notify(current_user, "password_changed")
            db.session.commit()
            login_user(current_user)  # the session id follows the new password
            flash(_("Your password is changed."), "success")
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


@bp.post("/account/verify/resend")
@login_required
@limiter.limit("5 per hour")
def resend_verification():
    if not current_user.email or current_user.email_verified_at is not None:
        abort(400)
    _send_verification(current_user)
    flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("citizen.account"))
