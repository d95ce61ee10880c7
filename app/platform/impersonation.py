"""The platform's side of impersonation (app/impersonation.py describes it all): a vendor staff
member (admin or support) picks a staff member of an active city and gives a reason; the
console records the impersonation and its platform audit entry, and shows the single-use link
to the city's console, valid LINK_SECONDS."""
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.impersonation import IMPERSONATION_MINUTES, LINK_SECONDS, make_link_token
from app.platform import audit
from app.platform.auth import current_platform_staff, platform_staff_required
from app.platform.blueprint import bp
from app.platform.fleet import tenant_or_404
from app.staff import role_label
from app.staff.models import StaffMember
from app.web.forms import form_status
from app.web.links import external_url
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import ACTIVE, Impersonation


class ImpersonateForm(FlaskForm):
    member = SelectField(_l("Staff member"), coerce=int, choices=[],
                         description=_l("Whose console you will see, with their role."))
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Say why, such as the support ticket it answers.")), Length(max=500)],
        description=_l("Recorded in the platform's and the city's audit logs."))


def _city_staff(tenant) -> list[SelectChoice]:
    """The city's active staff members with a second factor: (id, "email · role")."""

    with tenant_context(tenant):
        members = db.session.scalars(sa.select(StaffMember).where(
            StaffMember.active, StaffMember.totp_confirmed_at.is_not(None))
            .order_by(StaffMember.id)).all()
        return [SelectChoice(m.id, f"{m.user.email or m.user.mobile} · {role_label(m.role)}")
                for m in members]


@bp.route("/console/cities/<slug>/impersonate", methods=["GET", "POST"])
@platform_staff_required()
def impersonate(slug):
    tenant = tenant_or_404(slug)
    if tenant.status != ACTIVE:
        flash(_("Support sessions are only possible in active cities."), "error")
        return redirect(url_for("platform.city", slug=slug))
    form = ImpersonateForm()
    form.member.choices = _city_staff(tenant)
    if not form.validate_on_submit():
        return render_template("platform/console/impersonate.html", tenant=tenant,
                               form=form), form_status(form)
    vendor = current_platform_staff()
    expires_at = datetime.now(UTC) + timedelta(minutes=IMPERSONATION_MINUTES)
    nonce = secrets.token_urlsafe(32)
    db.session.add(Impersonation(nonce=nonce, staff_id=vendor.id, tenant_slug=slug,
                                 city_staff_id=form.member.data, reason=form.reason.data.strip(),
                                 expires_at=expires_at))
    audit.record(audit.actor_of(vendor), "tenant.impersonate", slug,
                 city_staff_id=form.member.data, reason=form.reason.data.strip(),
                 until=expires_at.isoformat())
    db.session.commit()
    token = make_link_token(slug, vendor.id, form.member.data, nonce, expires_at)
    link = external_url("admin.impersonate", host=tenant.domains[0], token=token)
    return render_template("platform/console/impersonation_link.html", tenant=tenant, link=link,
                           link_seconds=LINK_SECONDS, minutes=IMPERSONATION_MINUTES)
