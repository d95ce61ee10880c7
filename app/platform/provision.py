"""Provisioning a city from the platform console: the same provisioning as `flask tenants
create` (tenants.provisioning.create_tenant), then its initial modules and the invitation of
its first administrator (the code path of `flask tenants invite-admin`).

Everything that can be checked is checked first, each problem shown at its field, so a bad
form changes nothing. Should anything still fail once the city exists (the invitation can't
be sent, say), the city is deleted again — schema, role and rows — and the page says why; the
platform audit log keeps both entries (tenant.create, tenant.delete)."""
import logging
import zoneinfo

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.audit import record
from app.i18n import LANGUAGES, html_lang
from app.modules import configure, module_choices
from app.platform.audit import actor_of
from app.platform.auth import PLATFORM_ADMIN, current_platform_staff
from app.platform.auth import platform_staff_required as staff_required
from app.platform.blueprint import bp
from app.platform.fleet import all_plans
from app.platform.lifecycle import domain_problem
from app.staff import invitations
from app.staff.models import ADMIN
from app.web.forms import INVALID_FORM, form_status
from tenants import provisioning
from tenants.db import db
from tenants.models import Tenant
from tenants.naming import InvalidName, normalize_domain, validate_slug

log = logging.getLogger(__name__)


class ProvisionForm(FlaskForm):
    slug = StringField(_l("Slug"), validators=[DataRequired(_l("Enter a slug.")),
                                               Length(max=40)],
                       description=_l("2 to 40 lowercase letters, digits and single hyphens, "
                                      "starting with a letter, such as lishui. It names the "
                                      "city for good."))
    name_zh = StringField(_l("Name in Chinese"), validators=[
        DataRequired(_l("Enter the name in Chinese.")), Length(max=200)])
    name = StringField(_l("Name in English"), validators=[
        DataRequired(_l("Enter the name in English.")), Length(max=200)])
    domains = TextAreaField(_l("Domains"), validators=[
        DataRequired(_l("Enter at least one domain."))],
        description=_l("One host name a line, such as lishui.example.gov; the first is the "
                       "main one."), render_kw={"rows": 3})
    locale = SelectField(_l("Default language"), default="zh_Hans", choices=[
        SelectChoice(code, label, render_kw={"lang": html_lang(code)})
        for code, label in LANGUAGES.items()])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai", validators=[
        DataRequired(_l("Enter a time zone.")), Length(max=64)],
        description=_l("An IANA name such as Asia/Shanghai or Asia/Urumqi."))
    plan = SelectField(_l("Plan"), choices=[])
    modules = SelectMultipleField(
        _l("Initial modules"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Enabled from the start; they must be in the plan."))
    admin_email = EmailField(_l("First administrator's email"), validators=[
        DataRequired(_l("Enter the email address of the city's first administrator.")),
        Length(max=254), Email(message=_l("Enter an email address such as name@example.com."))],
        description=_l("They receive an invitation that works once, for 7 days."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {plan.key: plan for plan in all_plans()}
        self.plan.choices = [SelectChoice("", _l("No plan (not limited)"))] + [
            SelectChoice(key, f"{key} · {plan.name}") for key, plan in self.plans.items()]
        self.modules.choices = module_choices()

    @property
    def hosts(self) -> list[str]:
        return [line.strip() for line in (self.domains.data or "").replace(",", "\n")
                .splitlines() if line.strip()]

    def validate_slug(self, field):
        field.data = field.data.strip()
        try:
            validate_slug(field.data)
        except InvalidName:
            raise ValidationError(_l("Use 2 to 40 lowercase letters, digits and single hyphens, "
                                     "starting with a letter; admin, api, platform, public, "
                                     "static and www are reserved.")) from None
        if db.session.scalar(sa.select(Tenant.id).where(Tenant.slug == field.data)):
            raise ValidationError(_l("A city with this slug exists already (retired ones "
                                     "too)."))

    def validate_domains(self, field):
        seen = set()
        for host in self.hosts:
            problem = domain_problem(host)
            if problem:
                raise ValidationError(problem)
            if normalize_domain(host) in seen:
                raise ValidationError(_l("%(host)s is there twice.", host=host))
            seen.add(normalize_domain(host))

    def validate_timezone(self, field):
        try:
            zoneinfo.ZoneInfo(field.data.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_l("Unknown time zone: use an IANA name such as "
                                     "Asia/Shanghai.")) from None

    def validate_modules(self, field):
        plan = self.plans.get(self.plan.data)
        outside = sorted(set(field.data or []) - set(plan.modules)) if plan else []
        if outside:
            raise ValidationError(_l("The plan %(plan)s does not include: %(modules)s.",
                                     plan=plan.key, modules=", ".join(outside)))


def _set_up(tenant, form: ProvisionForm, by: str) -> str:
    """The city's initial modules and its first administrator's invitation; the link."""

    def enable_modules():
        for key, (before, after) in configure(enable=form.modules.data or []).items():
            record(by, "module.configure", key, before, after)

    return invitations.invite_from_outside(tenant, form.admin_email.data, ADMIN, [], by,
                                           prepare=enable_modules)


@bp.route("/console/cities/new", methods=["GET", "POST"])
@staff_required(PLATFORM_ADMIN)
def provision():
    form = ProvisionForm()
    if not form.validate_on_submit():
        return render_template("platform/console/provision.html", form=form), (
            form_status(form))
    by = actor_of(current_platform_staff())
    db.session.rollback()  # the form's checks read platform rows: end that transaction
    try:
        tenant = provisioning.create_tenant(
            form.slug.data, form.name.data.strip(), form.hosts, name_zh=form.name_zh.data.strip(),
            locale=form.locale.data, timezone=form.timezone.data.strip(),
            plan=form.plan.data or None, by=by)
    except (InvalidName, provisioning.ProvisioningError) as error:  # taken meanwhile
        form.form_errors.append(str(error))
        return render_template("platform/console/provision.html", form=form), INVALID_FORM
    try:
        _set_up(tenant, form, by)
    except Exception as error:
        log.exception("setting up the new city %s failed; deleting it", tenant.slug)
        provisioning.delete_tenant(tenant.slug, by=by)
        form.form_errors.append(_("The city could not be set up, so it was not created: "
                                  "%(reason)s", reason=str(error) or type(error).__name__))
        return render_template("platform/console/provision.html", form=form), INVALID_FORM
    flash(_("%(city)s is provisioned. We sent the invitation to %(email)s.",
            city=tenant.display_name(tenant.locale), email=form.admin_email.data), "success")
    return redirect(url_for("platform.city", slug=tenant.slug))
