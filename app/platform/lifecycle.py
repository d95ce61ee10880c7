"""A city's page in the platform console, with its history, and its lifecycle: suspend and
resume, maintenance mode, plan, domains, retire and restore. Each step is a page that says what
will happen and asks to confirm (GET), then does it (POST) through tenants/provisioning.py — the
same code as the CLI — which writes the platform audit entry, with the signed-in vendor staff
member as the actor, in the transaction of the change. Platform administrators only."""
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from app.platform.audit import actor_of
from app.platform.auth import PLATFORM_ADMIN, current_platform_staff, platform_staff_required
from app.platform.blueprint import bp
from app.platform.fleet import HISTORY_SIZE, all_plans, city_figures, tenant_or_404
from app.web.forms import form_status
from tenants import provisioning
from tenants.context import directory
from tenants.db import db
from tenants.directory import TenantInfo
from tenants.migrations import tenant_head
from tenants.models import ACTIVE, RETIRED, SUSPENDED, Plan, PlatformAuditEntry
from tenants.naming import InvalidName, normalize_domain, strip_port

# -- forms -----------------------------------------------------------------------------------

class ConfirmForm(FlaskForm):
    """A confirmation: the CSRF token is its only field."""


def domain_problem(domain: str) -> str | None:
    """What is wrong with a domain for a new host of a city (translated), or None."""

    try:
        host = normalize_domain(domain)
    except InvalidName:
        return _("Enter a host name such as lishui.example.gov, without scheme, port or path.")
    if host == strip_port(current_app.config["PLATFORM_HOST"]):
        return _("%(host)s is the platform's own host, not a city's.", host=host)
    owner = directory().lookup_host(host)
    if owner is not None:
        return _("%(host)s already belongs to the city %(city)s.", host=host, city=owner.slug)
    return None


class AddDomainForm(FlaskForm):
    domain = StringField(_l("New domain"), validators=[
        DataRequired(_l("Enter the host name to add.")), Length(max=253)],
        description=_l("A host name such as www.lishui.example.gov. Point its DNS at CivicCloud "
                       "first."))

    def validate_domain(self, field):
        problem = domain_problem(field.data)
        if problem:
            raise ValidationError(problem)


class RemoveDomainForm(FlaskForm):
    domain = SelectField(_l("Domain to remove"), choices=[])

    def __init__(self, tenant: TenantInfo, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain.choices = list(tenant.domains)
        self.tenant = tenant

    def validate_domain(self, field):
        if len(self.tenant.domains) <= 1:
            raise ValidationError(_l("This is the city's last domain: add another first."))


class PlanForm(FlaskForm):
    plan = SelectField(_l("Plan"), choices=[])

    def __init__(self, tenant: TenantInfo, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan.choices = [SelectChoice("", _l("No plan (not limited)"))] + [
            SelectChoice(plan.key, f"{plan.key} · {plan.name}") for plan in all_plans()]
        if not self.is_submitted():
            self.plan.data = tenant.plan or ""


class RetireForm(FlaskForm):
    retention_days = IntegerField(_l("Keep its data for (days)"), validators=[
        InputRequired(_l("Enter a number of days.")),
        NumberRange(min=0, max=provisioning.MAX_RETENTION_DAYS,
                    message=_l("Enter a number of days from 0 to %(max)d.",
                               max=provisioning.MAX_RETENTION_DAYS))],
        description=_l("Until then the city can be restored; afterwards it is purged for good."),
        render_kw={"inputmode": "numeric"})

    def __init__(self, tenant: TenantInfo, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.retention_days.data = current_app.config["TENANT_RETENTION_DAYS"]


# -- the actions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    title: str  # lazy; may name %(city)s
    explanation: str  # lazy; may name %(city)s
    button: str  # lazy
    done: str  # lazy; may name %(city)s
    available: Callable[[TenantInfo], bool]
    run: Callable[[TenantInfo, FlaskForm, str], TenantInfo]
    form: Callable[[TenantInfo], FlaskForm] = lambda tenant: ConfirmForm()
    danger: bool = False


def _live(tenant: TenantInfo) -> bool:
    return tenant.status != RETIRED


ACTIONS = {
    "suspend": Action(
        _l("Suspend %(city)s"),
        _l("Citizens then see a \"service suspended\" page at every address of the city; its "
           "staff still reach the administration, which tells them. Nothing is deleted."),
        _l("Suspend the city"), _l("%(city)s is suspended."),
        lambda t: t.status == ACTIVE,
        lambda t, form, by: provisioning.set_status(t.slug, SUSPENDED, by=by), danger=True),
    "resume": Action(
        _l("Resume %(city)s"), _l("The city's sites serve citizens again."),
        _l("Resume the city"), _l("%(city)s is active again."),
        lambda t: t.status == SUSPENDED,
        lambda t, form, by: provisioning.set_status(t.slug, ACTIVE, by=by)),
    "maintenance-on": Action(
        _l("Put %(city)s in maintenance mode"),
        _l("The city's site becomes read-only: citizens can look at its pages but can't send "
           "any form, and every page shows a maintenance banner. Its staff keep working."),
        _l("Start maintenance"), _l("%(city)s is in maintenance mode."),
        lambda t: _live(t) and not t.maintenance,
        lambda t, form, by: provisioning.set_maintenance(t.slug, True, by=by)),
    "maintenance-off": Action(
        _l("End maintenance of %(city)s"), _l("Citizens can send forms again."),
        _l("End maintenance"), _l("%(city)s is out of maintenance mode."),
        lambda t: _live(t) and t.maintenance,
        lambda t, form, by: provisioning.set_maintenance(t.slug, False, by=by)),
    "plan": Action(
        _l("Change the plan of %(city)s"),
        _l("The plan decides which modules the city's administrators may enable and how many "
           "staff seats they have. Modules enabled already stay enabled."),
        _l("Save the plan"), _l("The plan of %(city)s is changed."), _live,
        lambda t, form, by: provisioning.set_plan(t.slug, form.plan.data or None, by=by),
        form=PlanForm),
    "add-domain": Action(
        _l("Add a domain to %(city)s"),
        _l("The city's site will also answer at this host, within a few seconds."),
        _l("Add the domain"), _l("The domain is added to %(city)s."), _live,
        lambda t, form, by: provisioning.add_domain(t.slug, form.domain.data, by=by),
        form=lambda tenant: AddDomainForm()),
    "remove-domain": Action(
        _l("Remove a domain of %(city)s"),
        _l("The city's site stops answering at this host at once; links to it stop working. "
           "The city keeps its other domains."),
        _l("Remove the domain"), _l("The domain is removed from %(city)s."),
        lambda t: _live(t) and len(t.domains) > 1,
        lambda t, form, by: provisioning.remove_domain(t.slug, form.domain.data, by=by),
        form=RemoveDomainForm, danger=True),
    "retire": Action(
        _l("Retire %(city)s"),
        _l("The city disappears at once: its addresses answer \"not found\", its jobs stop. "
           "Its data is kept for the retention period, during which it can be restored; then "
           "it is purged for good."),
        _l("Retire the city"), _l("%(city)s is retired."), _live,
        lambda t, form, by: provisioning.retire_tenant(t.slug, form.retention_days.data, by=by),
        form=RetireForm, danger=True),
    "restore": Action(
        _l("Restore %(city)s"),
        _l("The city comes back, active, with all its data and domains."),
        _l("Restore the city"), _l("%(city)s is restored."),
        lambda t: t.status == RETIRED,
        lambda t, form, by: provisioning.restore_tenant(t.slug, by=by)),
}


@bp.get("/console/cities/<slug>")
@platform_staff_required()
def city(slug):
    tenant = tenant_or_404(slug)
    (row,) = city_figures([tenant])
    history = db.session.scalars(sa.select(PlatformAuditEntry).where(
        PlatformAuditEntry.tenant_slug == slug).order_by(
        PlatformAuditEntry.occurred_at.desc(), PlatformAuditEntry.id.desc())
        .limit(HISTORY_SIZE)).all()
    plan = db.session.scalar(sa.select(Plan).where(Plan.key == tenant.plan)) if (
        tenant.plan) else None
    actions = [(name, step) for name, step in ACTIONS.items() if step.available(tenant)]
    return render_template("platform/console/city.html", tenant=tenant, row=row, plan=plan,
                           history=history, head=tenant_head(), actions=actions)


@bp.route("/console/cities/<slug>/<action>", methods=["GET", "POST"])
@platform_staff_required(PLATFORM_ADMIN)
def city_action(slug, action):
    tenant, step = tenant_or_404(slug), ACTIONS.get(action)
    if step is None:
        abort(404)
    name = tenant.display_name(get_locale())
    if not step.available(tenant):
        flash(_("That can't be done to %(city)s in its present state.", city=name), "error")
        return redirect(url_for("platform.city", slug=slug))
    form = step.form(tenant)
    if form.validate_on_submit():
        try:
            step.run(tenant, form, actor_of(current_platform_staff()))
        except (InvalidName, provisioning.ProvisioningError) as error:
            form.form_errors.append(str(error))
        else:
            flash(str(step.done) % {"city": name}, "success")
            return redirect(url_for("platform.city", slug=slug))
    return render_template("platform/console/confirm.html", tenant=tenant, step=step, form=form,
                           action=action, city=name), (
        form_status(form))
