"""Closing an account, by its citizen: after the password (or, for an account without one, a
sign-in of the last few minutes), in one transaction every sign-in and app token ends, the
contact data and sign-in identities go, each module acts on its records (its
`on_account_closed`), and the account is marked closed and audited. Payments and case records
stay: they are the city's records, which the law requires it to keep. The address and number
are free to register again; the closed account can never sign in."""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import accounts
from app.accounts.models import OneTimeCode, User
from app.accounts.throttle import sign_in_throttle
from app.audit import actor_of, record
from app.citizen.account import signed_in_scope
from app.citizen.blueprint import bp
from app.citizen.forms import CloseAccountForm
from app.impersonation import current_impersonation
from app.modules import discover
from app.notifications.models import Notification
from app.oauth.models import OAuthAuthorizationCode, OAuthToken
from app.oidc.models import UserIdentity
from app.staff.models import StaffMember
from app.web.forms import form_status
from tenants.db import db

FRESH_SIGN_IN = timedelta(minutes=10)  # how recent a sign-in without a password must be
REFUSED, WRONG_PASSWORD = 403, 401
# What goes with the account (its rows of these tables), besides its contact data.
PERSONAL_ROWS = (Notification, OneTimeCode, UserIdentity, OAuthToken, OAuthAuthorizationCode)


def _signed_in_freshly() -> bool:
    sign_in = accounts.current_sign_in()
    return sign_in is not None and sign_in.created_at > datetime.now(UTC) - FRESH_SIGN_IN


def _is_staff(user: User) -> bool:
    return db.session.scalar(sa.select(StaffMember.id).where(
        StaffMember.user_id == user.id)) is not None


def close(user: User) -> bool:
    """Close `user`'s account in the current transaction; False (and nothing done) if it is
    closed already — two requests at once close it once, the second waits for the lock."""
    user = db.session.scalar(sa.select(User).where(User.id == user.id).with_for_update()
                             .execution_options(populate_existing=True))
    if user.closed_at is not None:
        return False
    actor = actor_of(user)
    for module in discover().values():  # enabled or not: its records of the citizen remain
        if module.on_account_closed is not None:
            module.on_account_closed(user, actor)
    accounts.sign_ins.end_all(user.id)
    for model in PERSONAL_ROWS:
        db.session.execute(sa.delete(model).where(model.user_id == user.id))
    user.email = user.mobile = user.password_hash = None
    user.email_verified_at = user.mobile_verified_at = None
    user.display_name = ""
    user.active, user.closed_at = False, datetime.now(UTC)
    record(actor, "account.close", f"user:{user.id}",
           after={"closed_at": user.closed_at.isoformat()})
    return True


@bp.route("/account/close", methods=["GET", "POST"])
@login_required
@sign_in_throttle(signed_in_scope, lambda: str(current_user.id), failed_status=WRONG_PASSWORD)
def close_account():
    if current_impersonation() is not None:  # support staff never close a citizen's account
        abort(REFUSED)
    form, has_password = CloseAccountForm(), bool(current_user.password_hash)
    refusal = (_("Your account is also a staff account of the city. Ask one of its "
                 "administrators to remove you from the staff first.")
               if _is_staff(current_user) else None)
    fresh = has_password or _signed_in_freshly()
    if refusal is None and fresh and form.validate_on_submit():
        if has_password and not accounts.check_password(current_user.password_hash,
                                                        form.password.data or ""):
            form.password.errors.append(_("That is not your password."))
            return _page(form, has_password, fresh, None), WRONG_PASSWORD
        close(current_user)
        db.session.commit()
        accounts.sign_out()
        flash(_("Your account is closed. Thank you for using the city's services."), "success")
        return redirect(url_for("citizen.home"))
    return _page(form, has_password, fresh, refusal), REFUSED if refusal else form_status(form)


def _page(form: CloseAccountForm, has_password: bool, fresh: bool, refusal: str | None) -> str:
    return render_template("citizen/account/close.html", form=form, has_password=has_password,
                           fresh=fresh, refusal=refusal,
                           fresh_minutes=int(FRESH_SIGN_IN.total_seconds() // 60))
