"""The city's side of impersonation (app/impersonation.py describes it all): exchanging a vendor
staff member's link for a marked session, ending it, and expiring it."""
import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm

from app import audit
from app.admin.blueprint import bp
from app.extensions import limiter
from app.impersonation import (
    IMPERSONATION_KEY,
    InvalidImpersonationLink,
    current_impersonation,
    is_expired,
    read_link_token,
)
from app.staff.models import StaffMember
from app.staff.permissions import SECOND_FACTOR_KEY
from tenants.context import current_tenant
from tenants.db import db
from tenants.models import ACTIVE

_ENTER_SQL = sa.text("SELECT vendor_id, vendor_email, member_id, ends_at "
                     "FROM platform_api.enter_impersonation(:city, :nonce)")


def _invalid():
    db.session.rollback()
    return render_template("admin/impersonation_invalid.html"), 400


@bp.route("/impersonate/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def impersonate(token):
    tenant = current_tenant()
    if tenant.status != ACTIVE:  # a suspended city's console is open to its own staff only
        abort(403)
    try:
        link = read_link_token(tenant.slug, token)
    except InvalidImpersonationLink:
        return _invalid()
    member = db.session.get(StaffMember, link["s"])
    if member is None or not member.active:
        return _invalid()
    form = FlaskForm()
    if not form.validate_on_submit():
        return render_template("admin/impersonation_confirm.html", form=form, member=member)
    entered = db.session.execute(_ENTER_SQL, {"city": tenant.slug, "nonce": link["n"]}).first()
    if entered is None or (entered.vendor_id, entered.member_id) != (link["v"], link["s"]):
        return _invalid()
    vendor = f"platform:{entered.vendor_id}:{entered.vendor_email}"
    audit.record(vendor, "staff.impersonation_start", f"staff:{member.id}", None,
                 {"as": audit.actor_of(member.user), "until": entered.ends_at.isoformat()})
    db.session.commit()
    logout_user()
    session.clear()
    login_user(member.user)
    session[SECOND_FACTOR_KEY] = member.user.get_id()  # the vendor passed the platform's
    session[IMPERSONATION_KEY] = {
        "vendor_id": entered.vendor_id, "vendor_email": entered.vendor_email,
        "user_id": member.user.id, "member_email": member.user.email or member.user.mobile,
        "expires_at": int(entered.ends_at.timestamp())}
    return redirect(url_for("admin.home"))


def _end(reason: str) -> None:
    impersonation = current_impersonation()
    if current_user.is_authenticated:
        audit.record(audit.actor_of(current_user), "staff.impersonation_end",
                     f"user:{impersonation['user_id']}", None, {"reason": reason})
        db.session.commit()
    logout_user()
    session.clear()


@bp.post("/impersonation/end")
def end_impersonation():
    if current_impersonation() is None:
        return redirect(url_for("admin.login"))
    _end("ended")
    flash(_("The support session has ended."), "success")
    return redirect(url_for("admin.login"))


@bp.before_app_request
def _expire_impersonation():
    """On every page of the city: an impersonation past its time ends (signed out)."""
    impersonation = current_impersonation()
    if g.get("tenant") is None or impersonation is None or not is_expired(impersonation):
        return None
    _end("expired")
    flash(_("The support session has ended: its time is up."), "info")
    return redirect(url_for("admin.login"))
