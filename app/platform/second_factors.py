"""Lost second factors, reset by platform administrators: a vendor colleague's (platform.staff)
or a city administrator's (when the city has no other administrator to do it, see
/admin/staff/<id>). The account is signed out everywhere, sets up a new second factor at its
next sign-in, and the reset (with its reason) is in the audit logs — the platform's, and the
city's for a city administrator."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app import accounts
from app import audit as city_audit
from app.platform import audit
from app.platform.auth import (
    PLATFORM_ADMIN,
    current_platform_staff,
    platform_second_factor,
    platform_sign_ins,
    platform_staff_required,
)
from app.platform.blueprint import bp
from app.platform.fleet import tenant_or_404
from app.staff import staff_second_factor
from app.staff.models import ADMIN, StaffMember
from app.web.forms import form_status
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import PlatformStaff


class ResetForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Say why, such as the support ticket and how you checked who asked.")),
        Length(max=500)], description=_l("Recorded in the audit log."))


class CityResetForm(ResetForm):
    member = SelectField(_l("City administrator"), coerce=int, choices=[])


@bp.get("/console/staff")
@platform_staff_required(PLATFORM_ADMIN)
def vendor_staff():
    staff = db.session.scalars(sa.select(PlatformStaff).order_by(PlatformStaff.email)).all()
    return render_template("platform/console/staff.html", staff=staff, form=ResetForm(),
                           me=current_platform_staff())


@bp.post("/console/staff/<int:staff_id>/second-factor/reset")
@platform_staff_required(PLATFORM_ADMIN)
def reset_vendor_second_factor(staff_id):
    colleague = db.session.get(PlatformStaff, staff_id, with_for_update=True)
    me = current_platform_staff()
    if colleague is None:
        abort(404)
    form = ResetForm()
    if colleague.id == me.id:
        form.reason.errors.append(_("You can't reset your own second factor: make new recovery "
                                    "codes, or ask another platform administrator."))
    if not form.validate_on_submit() or form.reason.errors:
        db.session.rollback()
        staff = db.session.scalars(sa.select(PlatformStaff).order_by(PlatformStaff.email)).all()
        return render_template("platform/console/staff.html", staff=staff, form=form, me=me,
                               failed=colleague.id), form_status(form)
    platform_second_factor.reset(colleague)
    ended = platform_sign_ins.end_all(colleague.id)
    audit.record(audit.actor_of(me), "staff.second_factor_reset", None, staff_id=colleague.id,
                 email=colleague.email, reason=form.reason.data.strip(), sessions_ended=ended)
    db.session.commit()
    flash(_("The second factor of %(email)s is reset: they set up a new one when they next "
            "sign in.", email=colleague.email), "success")
    return redirect(url_for("platform.vendor_staff"))


def _city_admins(tenant) -> list[SelectChoice]:
    with tenant_context(tenant):
        members = db.session.scalars(sa.select(StaffMember).where(
            StaffMember.role == ADMIN, StaffMember.active,
            StaffMember.totp_confirmed_at.is_not(None)).order_by(StaffMember.id)).all()
        return [SelectChoice(m.id, m.user.email or m.user.mobile) for m in members]


@bp.route("/console/cities/<slug>/second-factor", methods=["GET", "POST"])
@platform_staff_required(PLATFORM_ADMIN)
def reset_city_admin_second_factor(slug):
    tenant = tenant_or_404(slug)
    form = CityResetForm()
    form.member.choices = _city_admins(tenant)
    if not form.validate_on_submit():
        return render_template("platform/console/city_second_factor.html", tenant=tenant,
                               form=form), form_status(form)
    vendor = audit.actor_of(current_platform_staff())
    reason = form.reason.data.strip()
    with tenant_context(tenant):
        member = db.session.scalar(sa.select(StaffMember).where(
            StaffMember.id == form.member.data).with_for_update(of=StaffMember))
        staff_second_factor.reset(member)
        ended = accounts.sign_ins.end_all(member.user_id)
        email, member_id = member.user.email or member.user.mobile, member.id
        city_audit.record(vendor, "staff.second_factor_reset", f"staff:{member_id}", None,
                          {"reason": reason, "sessions_ended": ended})
        db.session.commit()
    audit.record(vendor, "tenant.staff_second_factor_reset", slug, city_staff_id=member_id,
                 email=email, reason=reason)
    db.session.commit()
    flash(_("The second factor of %(email)s is reset: they set up a new one when they next "
            "sign in.", email=email), "success")
    return redirect(url_for("platform.city", slug=slug))
