"""The staff's queue of service requests, filtered by category, status, department and age,
overdue ones first; a request's page with everything the reporter gave (contact details
included) and its whole history, internal notes too; and the moves staff make — review an
app's report, change the status with a public and an internal note (closing with a reason),
assign a department, merge a duplicate, hide a photo — each through workflow.py, audited in
the same transaction. The set-up pages are in setup.py."""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from app.modules.service_requests.answers import shown_answers
from app.modules.service_requests.forms import (
    AssignForm,
    MergeForm,
    ReviewForm,
    UpdateForm,
    department_choices,
)
from app.modules.service_requests.models import (
    AWAITING_REVIEW,
    KEY,
    OPEN,
    PUBLIC,
    STATUSES,
    ServiceCategory,
    ServiceDepartment,
    ServiceRequest,
    ServiceRequestPhoto,
    request_id_of,
)
from app.modules.service_requests.photos import send_photo
from app.modules.service_requests.workflow import (
    CLOSE_REASON_LABELS,
    CLOSING_REASONS,
    STATUS_LABELS,
    Refused,
    assign,
    is_overdue,
    load_for_update,
    lock_pair,
    merge,
    review,
    show_photo,
    staff_moves,
    update,
)
from app.staff.permissions import VIEW, WORK_MODULE, can, current_staff, staff_required
from app.web.forms import INVALID_FORM
from app.web.input_checks import bigint_arg
from app.web.pagination import page_of
from tenants.db import db

bp = Blueprint("service_requests", __name__, template_folder="templates")
READ = staff_required(VIEW, module=KEY)
WORK = staff_required(WORK_MODULE, module=KEY)
OPEN_FILTER, ALL = "open", "all"  # the queue's default: every request the city still works
AGES = (0, 1, 3, 7, 14, 30)  # "reported at least N days ago"
UNASSIGNED = -1


@bp.errorhandler(Refused)
def refused(error: Refused):
    db.session.rollback()
    return render_template("service_requests/admin/refused.html", message=error.message), 409


def _queue_query(status: str, category_id: int, department_id: int, age: int) -> sa.Select:
    now = datetime.now(UTC)
    overdue = sa.and_(ServiceRequest.status.in_(OPEN), ServiceRequest.due_at < now)
    query = sa.select(ServiceRequest)
    if status == OPEN_FILTER:
        query = query.where(ServiceRequest.status.in_((AWAITING_REVIEW, *OPEN)))
    elif status in STATUSES:
        query = query.where(ServiceRequest.status == status)
    if category_id:
        query = query.where(ServiceRequest.category_id == category_id)
    if department_id == UNASSIGNED:
        query = query.where(ServiceRequest.department_id.is_(None))
    elif department_id:
        query = query.where(ServiceRequest.department_id == department_id)
    if age:
        query = query.where(ServiceRequest.created_at < now - timedelta(days=age))
    return query.order_by(overdue.desc(), ServiceRequest.due_at.asc().nulls_last(),
                          ServiceRequest.created_at, ServiceRequest.id)


def _rows(model) -> list:
    return db.session.scalars(sa.select(model).order_by(model.id)).all()


@bp.get("/")
@READ
def index():
    status = request.args.get("status", OPEN_FILTER)
    status = status if status in (OPEN_FILTER, ALL, *STATUSES) else OPEN_FILTER
    category_id = request.args.get("category", 0, type=bigint_arg)
    department_id = request.args.get("department", 0, type=bigint_arg)
    age = request.args.get("age", 0, type=bigint_arg)
    age = age if age in AGES else 0
    found, page, has_next = page_of(_queue_query(status, category_id, department_id, age))
    filters = {"status": status, "category": category_id, "department": department_id,
               "age": age}
    return render_template(
        "service_requests/admin/index.html", requests=found, page=page, has_next=has_next,
        filters=filters, ages=AGES, statuses=STATUSES, categories=_rows(ServiceCategory),
        departments=_rows(ServiceDepartment), unassigned=UNASSIGNED, now=datetime.now(UTC),
        is_overdue=is_overdue, locale=get_locale())


def _request_or_404(request_id: int) -> ServiceRequest:
    return db.session.get(ServiceRequest, request_id) or abort(404)


def _update_form(service_request: ServiceRequest, form: UpdateForm | None = None) -> UpdateForm:
    form = form or UpdateForm(formdata=None)
    form.status.choices = [SelectChoice(service_request.status, _l("No change: add a note")),
                           *(SelectChoice(status, STATUS_LABELS[status])
                             for status in staff_moves(service_request))]
    form.close_reason.choices = [SelectChoice("", _l("Choose when closing")),
                                 *(SelectChoice(reason, CLOSE_REASON_LABELS[reason])
                                   for reason in CLOSING_REASONS)]
    return form


def _assign_form(form: AssignForm | None = None) -> AssignForm:
    form = form or AssignForm(formdata=None)
    departments = db.session.scalars(sa.select(ServiceDepartment).where(
        ServiceDepartment.active).order_by(ServiceDepartment.id)).all()
    form.department_id.choices = department_choices(departments, get_locale(),
                                                    _l("No department"))
    return form


def _detail_page(service_request: ServiceRequest, status: int = 200, **forms):
    locale = get_locale()
    may_work = can(current_staff(), WORK_MODULE, module=KEY)
    duplicates = db.session.scalars(sa.select(ServiceRequest).where(
        ServiceRequest.merged_into_id == service_request.id).order_by(ServiceRequest.id)).all()
    if "assign_form" not in forms:
        forms["assign_form"] = _assign_form()
        forms["assign_form"].department_id.data = service_request.department_id or 0
    return render_template(
        "service_requests/admin/detail.html", service_request=service_request,
        may_work=may_work, locale=locale, duplicates=duplicates,
        overdue=is_overdue(service_request, datetime.now(UTC)),
        answers=shown_answers(service_request.category, service_request.answers, locale),
        update_form=forms.get("update_form") or _update_form(service_request),
        merge_form=forms.get("merge_form") or MergeForm(formdata=None),
        review_form=forms.get("review_form") or ReviewForm(formdata=None),
        assign_form=forms["assign_form"], failed=forms.get("failed")), status


@bp.get("/<int:request_id>")
@READ
def detail(request_id):
    return _detail_page(_request_or_404(request_id))


def _locked(request_id: int) -> ServiceRequest:
    return load_for_update(request_id) or abort(404)


def _done(service_request: ServiceRequest, message: str | None = None):
    """Commit the move, back to the request's page saying what was done (by default its
    status now)."""
    db.session.commit()
    flash(message or _("Report %(number)s is “%(status)s”.", number=service_request.reference,
                       status=STATUS_LABELS[service_request.status]), "success")
    return redirect(url_for(".detail", request_id=service_request.id), 303)


def _form_refused(service_request: ServiceRequest, form, status: int = INVALID_FORM):
    """The request's page again, `form` with its problems; nothing changed."""
    db.session.rollback()
    return _detail_page(service_request, status, failed=form.prefix,
                        **{f"{form.prefix}_form": form})


@bp.post("/<int:request_id>/update")
@WORK
def update_request(request_id):
    service_request = _locked(request_id)
    form = _update_form(service_request, UpdateForm())
    if not form.validate_on_submit():
        return _form_refused(service_request, form)
    update(service_request, current_user, status=form.status.data,
           public_note=form.public_note.data or "", internal_note=form.internal_note.data or "",
           close_reason=form.close_reason.data or None)
    return _done(service_request)


@bp.post("/<int:request_id>/review")
@WORK
def review_request(request_id):
    service_request = _locked(request_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _form_refused(service_request, form)
    review(service_request, current_user, accept=form.decision.data == "accept",
           internal_note=form.internal_note.data or "")
    return _done(service_request)


@bp.post("/<int:request_id>/assign")
@WORK
def assign_request(request_id):
    service_request = _locked(request_id)
    form = _assign_form(AssignForm())
    if not form.validate_on_submit():
        return _form_refused(service_request, form)
    department = db.session.get(ServiceDepartment, form.department_id.data)
    assign(service_request, current_user, department, form.internal_note.data or "")
    return _done(service_request, _("Report %(number)s is assigned to %(department)s.",
                                    number=service_request.reference,
                                    department=department.name_for(get_locale()) if department
                                    else _("no department")))


@bp.post("/<int:request_id>/merge")
@WORK
def merge_request(request_id):
    form = MergeForm()
    service_request = _request_or_404(request_id)
    if not form.validate_on_submit():
        return _form_refused(service_request, form)
    original_id = db.session.scalar(sa.select(ServiceRequest.id).where(
        ServiceRequest.id == request_id_of(form.original.data),
        ServiceRequest.status.in_(PUBLIC)))
    if original_id is None:
        form.original.errors = [*form.original.errors,
                                _("No report of this city has this tracking number.")]
        return _form_refused(service_request, form, 404)
    duplicate, original = lock_pair(request_id, original_id)
    merge(duplicate, original, current_user, public_note=form.public_note.data or "",
          internal_note=form.internal_note.data or "")
    return _done(duplicate, _("Report %(number)s is merged into %(original)s.",
                              number=duplicate.reference, original=original.reference))


@bp.get("/<int:request_id>/photos/<int:photo_id>")
@READ
def photo(request_id, photo_id):
    found = db.session.scalar(sa.select(ServiceRequestPhoto).where(
        ServiceRequestPhoto.id == photo_id, ServiceRequestPhoto.request_id == request_id))
    return send_photo(found or abort(404), public=False)


@bp.post("/<int:request_id>/photos/<int:photo_id>/<any(show, hide):choice>")
@WORK
def photo_visibility(request_id, photo_id, choice):
    service_request = _locked(request_id)
    found = next((p for p in service_request.photos if p.id == photo_id), None)
    if found is None or not FlaskForm().validate_on_submit():
        abort(404 if found is None else 400)
    show_photo(found, current_user, public=choice == "show")
    return _done(service_request, _("The photo is shown on the public page.") if
                 choice == "show" else _("The photo is hidden from the public page."))
