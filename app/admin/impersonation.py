"""The city's side of impersonation (app/impersonation.py describes it all): exchanging a vendor
staff member's link for a marked sign-in, ending it, and expiring it; and the banner every other
staff member of the city sees while a support session is open."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import accounts, audit
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
from tenants.context import current_tenant
from tenants.db import db
from tenants.models import ACTIVE

_ENTER_SQL = sa.text("SELECT vendor_id, vendor_email, member_id, ends_at, reason "
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
                 {"as": audit.actor_of(member.user), "until": entered.ends_at.isoformat(),
                  "reason": entered.reason})
    # The vendor passed the platform's second factor; the sign-in ends at ends_at, and with the
    # city's suspension (its rows are deleted).
    accounts.sign_in(member.user, second_factor_at=datetime.now(UTC), impersonator=vendor,
                     expires_at=entered.ends_at)
    session[IMPERSONATION_KEY] = {
        "vendor_id": entered.vendor_id, "vendor_email": entered.vendor_email,
        "user_id": member.user.id, "member_email": member.user.email or member.user.mobile,
        "expires_at": int(entered.ends_at.timestamp())}
    return redirect(url_for("admin.home"))


def _end(impersonation: dict, reason: str) -> None:
    actor = (f"user:{impersonation['user_id']}:{impersonation['member_email']} "
             f"via platform:{impersonation['vendor_id']}")
    audit.record(actor, "staff.impersonation_end", f"user:{impersonation['user_id']}", None,
                 {"reason": reason})
    db.session.commit()
    accounts.sign_out()


@bp.post("/impersonation/end")
def end_impersonation():
    impersonation = current_impersonation()
    if impersonation is None:
        return redirect(url_for("admin.login"))
    _end(impersonation, "ended")
    flash(_("The support session has ended."), "success")
    return redirect(url_for("admin.login"))


@bp.before_app_request
def _expire_impersonation():
    """On every page of the city: a support session past its time, in a city no longer active,
    or whose sign-in has been ended, ends (signed out)."""
    impersonation = current_impersonation()
    tenant = g.get("tenant")
    if tenant is None or impersonation is None:
        return None
    if is_expired(impersonation):
        reason, message = "expired", _("The support session has ended: its time is up.")
    elif tenant.status != ACTIVE:
        reason, message = "city suspended", _("The support session has ended: the city is "
                                              "suspended.")
    elif not current_user.is_authenticated:
        reason, message = "signed out", _("The support session has ended.")
    else:
        return None
    _end(impersonation, reason)
    flash(message, "info")
    return redirect(url_for("admin.login"))

