"""Plans: which modules a city may enable and its limits (staff seats). Platform administrators
create and edit them; support staff read them. A plan's key is fixed once made (cities name it);
a plan that cities have can't be deleted."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.modules import module_choices
from app.platform import audit
from app.platform.auth import PLATFORM_ADMIN, current_platform_staff, platform_staff_required
from app.platform.blueprint import bp
from app.platform.fleet import all_plans
from app.web.forms import form_status
from tenants.db import db
from tenants.models import Plan, Tenant


class PlanForm(FlaskForm):
    key = StringField(_l("Key"), validators=[
        DataRequired(_l("Enter a key.")), Length(max=40),
        Regexp(r"^[a-z][a-z0-9-]*$", message=_l("Use lowercase letters, digits and hyphens, "
                                                "starting with a letter."))],
        description=_l("Names the plan for good, such as basic or city-plus."))
    name_zh = StringField(_l("Name in Chinese"), validators=[
        DataRequired(_l("Enter the name in Chinese.")), Length(max=200)])
    name = StringField(_l("Name in English"), validators=[
        DataRequired(_l("Enter the name in English.")), Length(max=200)])
    modules = SelectMultipleField(
        _l("Modules"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("The modules a city of this plan may enable."))
    staff_seats = IntegerField(_l("Staff seats"), validators=[
        Optional(), NumberRange(min=1, max=100000, message=_l("Enter a number from 1 to "
                                                              "100000, or leave it empty."))],
        description=_l("How many active staff members and open invitations a city may have. "
                       "Empty: no limit."), render_kw={"inputmode": "numeric"})

    def __init__(self, *args, plan: Plan | None = None, **kwargs):
        super().__init__(*args, obj=plan, **kwargs)
        self.plan = plan
        self.modules.choices = module_choices()
        if plan is not None:
            self.key.render_kw = {"readonly": True}

    def validate_key(self, field):
        if self.plan is not None:
            field.data = self.plan.key  # fixed once made
        elif db.session.scalar(sa.select(Plan.id).where(Plan.key == field.data)):
            raise ValidationError(_l("A plan with this key exists already."))


@bp.get("/console/plans")
@platform_staff_required()
def plans():
    counts = dict(db.session.execute(sa.select(Tenant.plan, sa.func.count(Tenant.id)).where(
        Tenant.plan.is_not(None)).group_by(Tenant.plan)).all())
    return render_template("platform/console/plans.html", plans=all_plans(), counts=counts)


def _save(form: PlanForm, plan: Plan | None):
    before = plan.snapshot() if plan else None
    if plan is None:
        plan = Plan(key=form.key.data)
        db.session.add(plan)
    plan.name, plan.name_zh = form.name.data.strip(), form.name_zh.data.strip()
    plan.modules, plan.staff_seats = sorted(form.modules.data or []), form.staff_seats.data
    if plan.snapshot() != before:
        audit.record(audit.actor_of(current_platform_staff()),
                     "plan.create" if before is None else "plan.update", None,
                     plan=plan.key, before=before, after=plan.snapshot())
        db.session.commit()
        flash(_("The plan %(key)s is saved.", key=plan.key), "success")
    return redirect(url_for("platform.plans"))


@bp.route("/console/plans/new", methods=["GET", "POST"])
@platform_staff_required(PLATFORM_ADMIN)
def plan_new():
    form = PlanForm()
    if form.validate_on_submit():
        return _save(form, None)
    return render_template("platform/console/plan_edit.html", form=form, plan=None), (
        form_status(form))


def _plan_or_404(key: str) -> Plan:
    """The plan, locked when the request may change it."""
    query = sa.select(Plan).where(Plan.key == key)
    plan = db.session.scalar(query.with_for_update() if request.method == "POST" else query)
    if plan is None:
        abort(404)
    return plan


@bp.route("/console/plans/<key>", methods=["GET", "POST"])
@platform_staff_required()
def plan_edit(key):
    plan = _plan_or_404(key)
    form = PlanForm(plan=plan)
    if form.is_submitted() and current_platform_staff().role != PLATFORM_ADMIN:
        abort(403)
    if form.validate_on_submit():
        return _save(form, plan)
    return render_template("platform/console/plan_edit.html", form=form, plan=plan), (
        form_status(form))


@bp.route("/console/plans/<key>/delete", methods=["GET", "POST"])
@platform_staff_required(PLATFORM_ADMIN)
def plan_delete(key):
    plan = _plan_or_404(key)
    used_by = db.session.scalar(sa.select(sa.func.count(Tenant.id)).where(Tenant.plan == key))
    form = FlaskForm()
    if used_by:
        flash(_("The plan %(key)s can't be deleted: %(count)d cities have it. Give them "
                "another plan first.", key=key, count=used_by), "error")
        return redirect(url_for("platform.plan_edit", key=key))
    if form.validate_on_submit():
        audit.record(audit.actor_of(current_platform_staff()), "plan.delete", None, plan=key,
                     before=plan.snapshot(), after=None)
        db.session.delete(plan)
        db.session.commit()
        flash(_("The plan %(key)s is deleted.", key=key), "success")
        return redirect(url_for("platform.plans"))
    return render_template("platform/console/plan_delete.html", form=form, plan=plan)
