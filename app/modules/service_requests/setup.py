"""The set-up of service requests in the console (module managers and administrators): the
categories citizens report in, with their names in both languages, time limit, department
and extra questions (Open311's attributes), the departments, and the api_keys of other apps
(shown once, kept hashed, revocable). Every change is audited in its transaction."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app.audit import actor_of, record
from app.modules.service_requests import api_keys
from app.modules.service_requests.admin import bp
from app.modules.service_requests.forms import (
    ApiClientForm,
    AttributeForm,
    CategoryForm,
    DepartmentForm,
    department_choices,
)
from app.modules.service_requests.models import (
    KEY,
    ServiceApiClient,
    ServiceAttribute,
    ServiceCategory,
    ServiceDepartment,
)
from app.staff.permissions import CONFIGURE_MODULE, staff_required
from app.web.forms import form_status
from tenants.db import db

CONFIGURE = staff_required(CONFIGURE_MODULE, module=KEY)
DATATYPE_LABELS = {
    "string": _l("Short text (one line)"),
    "number": _l("Number"),
    "datetime": _l("Date and time"),
    "text": _l("Longer text"),
    "singlevaluelist": _l("One option of a list"),
    "multivaluelist": _l("Several options of a list"),
}
CATEGORY_FIELDS = ("code", "name", "name_zh", "description", "description_zh", "days_to_close",
                   "department_id", "group_name", "group_name_zh", "keywords", "active")
ATTRIBUTE_FIELDS = ("code", "datatype", "variable", "required", "description", "description_zh",
                    "hint", "hint_zh", "position")
DEPARTMENT_FIELDS = ("name", "name_zh", "active")


def snapshot(row, fields) -> dict:
    return {name: getattr(row, name) for name in fields}


def _save(row, form, fields, action: str, target: str) -> None:
    """Copy the form's `fields` onto `row` (added if new), audited with before and after."""
    before = snapshot(row, fields) if row.id else None
    for name in fields:
        if name in form:
            value = form[name].data
            setattr(row, name, None if name == "department_id" and not value else value)
    db.session.add(row)
    db.session.flush()
    record(actor_of(current_user), f"{KEY}.{action}.{'update' if before else 'create'}",
           target or str(row.id), before, snapshot(row, fields))


@bp.get("/setup")
@CONFIGURE
def setup():
    return render_template(
        "service_requests/admin/setup.html", locale=get_locale(),
        categories=db.session.scalars(sa.select(ServiceCategory)
                                      .order_by(ServiceCategory.id)).all(),
        departments=db.session.scalars(sa.select(ServiceDepartment)
                                       .order_by(ServiceDepartment.id)).all(),
        clients=db.session.scalars(sa.select(ServiceApiClient)
                                   .order_by(ServiceApiClient.id.desc())).all(),
        client_form=ApiClientForm(formdata=None))


def _back_to_setup():
    flash(_("Saved."), "success")
    return redirect(url_for(".setup"), 303)


@bp.route("/categories/new", methods=["GET", "POST"], endpoint="new_category")
@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@CONFIGURE
def category(category_id=None):
    row = ServiceCategory()
    if category_id is not None:
        row = db.session.get(ServiceCategory, category_id) or abort(404)
    form = CategoryForm(obj=row if row.id else None)  # a new one: the form's defaults
    if category_id is not None:
        form.existing()
    departments = db.session.scalars(sa.select(ServiceDepartment).order_by(
        ServiceDepartment.id)).all()
    form.department_id.choices = department_choices(departments, get_locale(),
                                                    _l("No department"))
    if form.validate_on_submit():
        if "code" in form and db.session.scalar(sa.select(ServiceCategory.id).where(
                ServiceCategory.code == form.code.data)):
            form.code.errors.append(_("Another category has this code."))
        else:
            _save(row, form, CATEGORY_FIELDS, "category", row.code or form.code.data)
            db.session.commit()
            return _back_to_setup()
    return render_template("service_requests/admin/category.html", form=form, category=row,
                           labels=DATATYPE_LABELS, locale=get_locale()), form_status(form)


@bp.route("/categories/<int:category_id>/questions/new", methods=["GET", "POST"],
          endpoint="new_question")
@bp.route("/categories/<int:category_id>/questions/<int:attribute_id>",
          methods=["GET", "POST"])
@CONFIGURE
def question(category_id, attribute_id=None):
    category_row = db.session.get(ServiceCategory, category_id) or abort(404)
    row = ServiceAttribute(category_id=category_id, options=[])
    if attribute_id is not None:
        row = next((a for a in category_row.attributes if a.id == attribute_id), None)
        if row is None:
            abort(404)
    form = AttributeForm(obj=row if row.id else None).offer(DATATYPE_LABELS)
    if not form.is_submitted():
        form.options_text(row.options)
        if not row.id:
            form.position.data = len(category_row.attributes) + 1
    taken = {a.code for a in category_row.attributes if a.id != row.id}
    if form.validate_on_submit():
        if form.code.data in taken:
            form.code.errors.append(_("Another question of this category has this code."))
        else:
            before_options = list(row.options)
            row.options = form.parsed_options
            _save(row, form, ATTRIBUTE_FIELDS, "question",
                  f"{category_row.code}:{form.code.data}")
            if before_options != row.options:
                record(actor_of(current_user), f"{KEY}.question.options",
                       f"{category_row.code}:{row.code}", before_options, row.options)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".category", category_id=category_id), 303)
    return render_template(
        "service_requests/admin/edit.html", form=form,
        title=_("Question of %(category)s", category=category_row.name_for(get_locale())),
        back=(url_for(".category", category_id=category_id), _("Back to the category"))
    ), form_status(form)


@bp.post("/categories/<int:category_id>/questions/<int:attribute_id>/delete")
@CONFIGURE
def delete_question(category_id, attribute_id):
    row = db.session.scalar(sa.select(ServiceAttribute).where(
        ServiceAttribute.id == attribute_id, ServiceAttribute.category_id == category_id))
    if row is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record(actor_of(current_user), f"{KEY}.question.delete",
           f"{row.category.code}:{row.code}", snapshot(row, ATTRIBUTE_FIELDS), None)
    db.session.delete(row)
    db.session.commit()
    flash(_("The question is deleted; answers given to it stay with their requests."),
          "success")
    return redirect(url_for(".category", category_id=category_id), 303)


@bp.route("/departments/new", methods=["GET", "POST"], endpoint="new_department")
@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@CONFIGURE
def department(department_id=None):
    row = ServiceDepartment()
    if department_id is not None:
        row = db.session.get(ServiceDepartment, department_id) or abort(404)
    form = DepartmentForm(obj=row if row.id else None)
    if form.validate_on_submit():
        _save(row, form, DEPARTMENT_FIELDS, "department", "")
        db.session.commit()
        return _back_to_setup()
    return render_template("service_requests/admin/edit.html", form=form,
                           title=_("Edit the department") if row.id
                           else _("Add a department")), form_status(form)


@bp.post("/api-clients")
@CONFIGURE
def issue_api_key():
    """Issue a key: the page shows it this once (never stored in clear, never in a URL)."""
    form = ApiClientForm()
    if not form.validate_on_submit():
        return render_template("service_requests/admin/edit.html", form=form,
                               action=url_for(".issue_api_key"),
                               title=_("Issue an api_key")), form_status(form)
    client, api_key = api_keys.issue(form.name.data, current_user)
    db.session.commit()
    return render_template("service_requests/admin/api_key.html", client=client,
                           api_key=api_key)


@bp.post("/api-clients/<int:client_id>/revoke")
@CONFIGURE
def revoke_api_key(client_id):
    client = db.session.get(ServiceApiClient, client_id) or abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    api_keys.revoke(client, current_user)
    db.session.commit()
    flash(_("The api_key of %(name)s is revoked: calls with it are refused from now on.",
            name=client.name), "success")
    return redirect(url_for(".setup"), 303)
