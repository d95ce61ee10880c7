"""The staff's queue of passport applications: filtered by state and age, overdue cases first
(the SLA deadline in working days); a case's details, files and timeline; and the moves staff
make — claim, ask for information, approve, reject, ready for collection, collected — each
through workflow.transition, audited in the same transaction. A claimed case is moved only by
its claimant or a city administrator; others may take it over (audited).

Also the city's offices and required documents, each named in Chinese and English side by
side: settings of the module, changed through app.modules.configure (the schema's checks) and
audited as "module.configure", as the console's module page does for the other settings."""
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app import audit
from app.city_time import city_midnight, city_today
from app.modules import ModuleError, configure
from app.modules.passports.documents import send_document
from app.modules.passports.forms import NamesForm, StaffActionForm
from app.modules.passports.models import (
    APPROVED,
    COLLECTED,
    DRAFT,
    IN_REVIEW,
    NEEDS_INFORMATION,
    READY_FOR_COLLECTION,
    REJECTED,
    STATUSES,
    WITH_THE_CITY,
    PassportApplication,
    PassportDocument,
)
from app.modules.passports.workflow import (
    STAFF,
    STATUS_LABELS,
    Refused,
    allowed,
    claimed_by_another,
    claimed_message,
    is_overdue,
    load_for_update,
    passport_settings,
    take_over,
    transition,
)
from app.staff.permissions import (
    CONFIGURE_MODULE,
    VIEW,
    WORK_MODULE,
    can,
    current_staff,
    staff_required,
)
from app.web.forms import INVALID_FORM, form_status
from app.web.input_checks import bigint_arg
from app.web.pagination import page_of
from tenants.db import db

bp = Blueprint("passports", __name__, template_folder="templates")
WORK = staff_required(WORK_MODULE, module="passports")
READ = staff_required(VIEW, module="passports")
OPEN = "open"  # the queue's default filter: every case not finished
FINISHED = (COLLECTED, REJECTED)
AGES = (0, 3, 7, 14, 30)  # "submitted at least N days ago"
CLAIMED = (IN_REVIEW, APPROVED, READY_FOR_COLLECTION)  # states where the claimant works the case

# The staff's moves: URL name → (target state, button text, whether a message is required).
ACTIONS = {
    "claim": (IN_REVIEW, _l("Claim and review"), False),
    "request-information": (NEEDS_INFORMATION, _l("Ask the applicant for information"), True),
    "approve": (APPROVED, _l("Approve"), False),
    "reject": (REJECTED, _l("Reject"), True),
    "ready": (READY_FOR_COLLECTION, _l("Ready for collection"), False),
    "collected": (COLLECTED, _l("Record the collection"), False),
}


@bp.errorhandler(Refused)
def refused(error: Refused):
    db.session.rollback()
    return render_template("passports/admin/refused.html", message=error.message), 409


def queue_query(status: str, age: int) -> sa.Select:
    """Applications the citizen has submitted (never drafts), overdue first, then by
    deadline and submission."""
    today = city_today()
    overdue = sa.and_(PassportApplication.status.in_(WITH_THE_CITY),
                      PassportApplication.sla_due < today)
    query = sa.select(PassportApplication).where(PassportApplication.status != DRAFT).options(
        selectinload(PassportApplication.assignee))
    if status == OPEN:
        query = query.where(PassportApplication.status.not_in(FINISHED))
    elif status in STATUSES:
        query = query.where(PassportApplication.status == status)
    if age:
        query = query.where(
            PassportApplication.submitted_at < city_midnight(today - timedelta(days=age)))
    return query.order_by(overdue.desc(), PassportApplication.sla_due.asc().nulls_last(),
                          PassportApplication.submitted_at, PassportApplication.id)


@bp.get("/")
@READ
def index():
    status = request.args.get("status", OPEN)
    if status not in (OPEN, "all", *STATUSES) or status == DRAFT:
        status = OPEN
    age = request.args.get("age", 0, type=bigint_arg)
    age = age if age in AGES else 0
    applications, page, has_next = page_of(queue_query(status, age))
    return render_template(
        "passports/admin/index.html", applications=applications, status=status, age=age,
        page=page, has_next=has_next, ages=AGES, today=city_today(),
        is_overdue=is_overdue, labels=STATUS_LABELS,
        statuses=[s for s in STATUSES if s != DRAFT])


def _case(application_id: int) -> PassportApplication:
    application = db.session.scalar(sa.select(PassportApplication).where(
        PassportApplication.id == application_id, PassportApplication.status != DRAFT))
    if application is None:
        abort(404)
    return application


def _may_take_over(application) -> bool:
    return application.status in CLAIMED and application.assigned_user_id not in (
        None, current_user.id)


def _detail_page(application, form=None, failed_action=None, status=200):
    staff = current_staff()
    may_work = can(staff, WORK_MODULE, module="passports")
    kept_off = claimed_by_another(application, staff)
    actions = [(name, label, needs_message) for name, (target, label, needs_message)
               in ACTIONS.items()
               if may_work and not kept_off and allowed(application, target, STAFF)]
    return render_template(
        "passports/admin/detail.html", application=application, actions=actions,
        form=form or StaffActionForm(), failed_action=failed_action, labels=STATUS_LABELS,
        overdue=is_overdue(application, city_today()),
        refusal=kept_off and claimed_message(application),
        may_take_over=may_work and _may_take_over(application)), status


@bp.get("/<int:application_id>")
@READ
def detail(application_id):
    return _detail_page(_case(application_id))


@bp.get("/<int:application_id>/documents/<int:document_id>")
@READ
def document(application_id, document_id):
    found = db.session.scalar(sa.select(PassportDocument).where(
        PassportDocument.id == document_id, PassportDocument.application_id == application_id))
    if found is None or found.application.status == DRAFT:
        abort(404)
    return send_document(found)


@bp.post("/<int:application_id>/<any(" + ", ".join(f"'{a}'" for a in ACTIONS) + "):action>")
@WORK
def act(application_id, action):
    target, _label, needs_message = ACTIONS[action]
    application = load_for_update(application_id)
    if application is None or application.status == DRAFT:
        abort(404)
    if claimed_by_another(application, current_staff()):  # the page says who has it
        db.session.rollback()
        return _detail_page(application, status=403)
    form = StaffActionForm()
    valid = form.validate_on_submit()
    message = (form.message.data or "").strip()
    if needs_message and not message:
        form.message.errors = [*form.message.errors, _("Write the message to the applicant.")]
        valid = False
    if not valid:
        db.session.rollback()
        return _detail_page(application, form, action, INVALID_FORM)
    transition(application, target, current_user, by=STAFF, message=message,
               notes=(form.notes.data or "").strip())
    db.session.commit()
    flash(_("Application %(reference)s is now “%(status)s”.", reference=application.reference,
            status=STATUS_LABELS[target]), "success")
    return redirect(url_for(".detail", application_id=application.id))


@bp.post("/<int:application_id>/take-over")
@WORK
def take_over_case(application_id):
    """Claim a case someone else claimed (they may be away): audited, and said on the page."""
    application = load_for_update(application_id)
    if application is None or application.status == DRAFT:
        abort(404)
    if not _may_take_over(application):
        raise Refused(_("Application %(reference)s can't be taken over now.",
                        reference=application.reference))
    take_over(application, current_user)
    db.session.commit()
    flash(_("You have taken over application %(reference)s.",
            reference=application.reference), "success")
    return redirect(url_for(".detail", application_id=application.id))


@bp.route("/offices-and-documents", methods=["GET", "POST"])
@READ
def names():
    """The offices and required documents, Chinese beside English: changed by those who may
    configure the module, read by the rest of the staff."""
    allowed = can(current_staff(), CONFIGURE_MODULE, module="passports")
    if request.method == "POST" and not allowed:
        abort(403)
    form = NamesForm.of(passport_settings())
    if form.validate_on_submit():
        try:
            changes = configure(values={"passports": form.values()})
        except ModuleError as error:
            db.session.rollback()
            form.attach(error.errors)
        else:
            for key, (before, after) in changes.items():
                audit.record(audit.actor_of(current_user), "module.configure", key, before,
                             after)
            db.session.commit()
            flash(_("The offices and documents are saved.") if changes else
                  _("Nothing was changed."), "success" if changes else "info")
            return redirect(url_for(".names"))
    if not allowed:
        for rows in (form.offices, form.required_documents):
            for row in rows:
                for field in row:
                    field.render_kw = {**(field.render_kw or {}), "disabled": True}
    return render_template("passports/admin/names.html", form=form, allowed=allowed), (
        form_status(form))
