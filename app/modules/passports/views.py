"""The citizen's pages: an application filled in steps (each step saves the draft), photo and
documents, review and submission (with the fee paid first where the city charges one), then
the application's state and timeline, and an answer when the city asks for information."""
import secrets

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.modules.passports.documents import (
    MAX_FILES,
    UploadRefused,
    add_document,
    max_bytes,
    path_of,
    read_upload,
    send_document,
)
from app.modules.passports.fees import fee_link, pay_and_submit
from app.modules.passports.forms import (
    DOCUMENT_KINDS,
    CollectionForm,
    PassportForm,
    PersonalForm,
    ReasonForm,
    SubmitForm,
    UploadForm,
)
from app.modules.passports.models import (
    DRAFT,
    NEEDS_INFORMATION,
    SUBMITTED,
    PassportApplication,
    PassportDocument,
)
from app.modules.passports.settings import find, named
from app.modules.passports.workflow import (
    CITIZEN,
    EDITABLE,
    REASONS,
    STATUS_LABELS,
    Refused,
    TransitionRefused,
    load_for_update,
    missing_parts,
    passport_settings,
    transition,
)
from app.web.forms import INVALID_FORM, form_status
from tenants.db import db

bp = Blueprint("passports", __name__, template_folder="templates")
INVALID_FORM, CONFLICT = INVALID_FORM, 409

STEPS = (
    ("personal", _l("Personal details")),
    ("passport", _l("Current passport")),
    ("reason", _l("Reason")),
    ("collection", _l("Collection")),
    ("documents", _l("Photo and documents")),
    ("review", _l("Review and submit")),
)
STEP_FORMS = {"personal": PersonalForm, "passport": PassportForm, "reason": ReasonForm,
              "collection": CollectionForm}


def _own(application_id: int, lock: bool = False) -> PassportApplication:
    """The signed-in citizen's application (404 for anyone else's)."""
    if lock:
        application = load_for_update(application_id, current_user.id)
    else:
        application = db.session.scalar(sa.select(PassportApplication).where(
            PassportApplication.id == application_id,
            PassportApplication.user_id == current_user.id))
    if application is None:
        abort(404)
    return application


def _editable(application_id: int, lock: bool = False) -> PassportApplication:
    application = _own(application_id, lock)
    if application.status not in EDITABLE:
        raise Refused(_("Application %(reference)s has been submitted: it can't be changed "
                        "now.", reference=application.reference))
    return application


def _next_step(step: str) -> str:
    names = [name for name, _label in STEPS]
    return names[names.index(step) + 1]


def _step_url(application: PassportApplication, step: str) -> str:
    if step == "documents":
        return url_for("passports.documents", application_id=application.id)
    if step == "review":
        return url_for("passports.review", application_id=application.id)
    return url_for("passports.step", application_id=application.id, step=step)


@bp.app_context_processor
def passport_helpers() -> dict:
    """What the passport templates (also "My account" and the staff's pages) look up."""
    return {
        "passport_step_url": _step_url,
        "passport_reasons": REASONS,
        "passport_statuses": STATUS_LABELS,
        "passport_document_kind": document_kind_name,
        "passport_office": office_name,
        "my_passport_applications": _my_applications,
    }


def _named_in_settings(setting: str, text: str) -> str:
    """A name an application keeps (its office, a file's kind) in the page's language, as the
    city names it now; as kept if the city has dropped or renamed it since."""
    found = find(named(passport_settings()[setting]), text)
    return found.name_for() if found else text


def office_name(office: str) -> str:
    return _named_in_settings("offices", office)


def document_kind_name(kind: str) -> str:
    return str(DOCUMENT_KINDS[kind]) if kind in DOCUMENT_KINDS else _named_in_settings(
        "required_documents", kind)


def _my_applications(limit: int | None = None) -> list[PassportApplication]:
    query = sa.select(PassportApplication).where(
        PassportApplication.user_id == current_user.id).order_by(PassportApplication.id.desc())
    return db.session.scalars(query.limit(limit)).all()


@bp.errorhandler(Refused)
def refused(error: Refused):
    db.session.rollback()
    return render_template("passports/refused.html", message=error.message), CONFLICT


@bp.get("/")
@login_required
def index():
    return render_template("passports/index.html", applications=_my_applications(),
                           settings=passport_settings())


@bp.post("/new")
@login_required
def start():
    """A new draft, or the draft the citizen already has (one draft at a time)."""
    draft = _my_draft()
    if draft is None:
        db.session.add(PassportApplication(user_id=current_user.id, status=DRAFT,
                                           full_name=current_user.display_name or "",
                                           phone=current_user.mobile or ""))
        try:
            db.session.commit()
        except sa.exc.IntegrityError:  # another click made it first
            db.session.rollback()
        draft = _my_draft()
    return redirect(_step_url(draft, "personal"))


def _my_draft() -> PassportApplication | None:
    return db.session.scalar(sa.select(PassportApplication).where(
        PassportApplication.user_id == current_user.id, PassportApplication.status == DRAFT))


@bp.route("/<int:application_id>/<any(personal, passport, reason, collection):step>",
          methods=["GET", "POST"])
@login_required
def step(application_id, step):
    application = _editable(application_id, lock=request.method == "POST")
    form = STEP_FORMS[step](obj=application)
    if isinstance(form, CollectionForm):
        form.offer(named(passport_settings()["offices"]))
    if not form.validate_on_submit():
        return render_template("passports/step.html", application=application, form=form,
                               step=step, steps=STEPS), form_status(form)
    form.save_to(application)
    db.session.commit()
    return redirect(_step_url(application, _next_step(step)))


@bp.route("/<int:application_id>/documents", methods=["GET", "POST"])
@login_required
def documents(application_id):
    """The photo and supporting documents: one upload at a time, checked by content."""
    application = _editable(application_id, lock=request.method == "POST")
    form = UploadForm().offer(named(passport_settings()["required_documents"]))
    status = form_status(form)
    if form.validate_on_submit():
        try:
            if len(application.documents) >= MAX_FILES:
                raise UploadRefused(_("An application can have at most %(count)d files: "
                                      "remove one first.", count=MAX_FILES))
            kind = form.kind.data
            upload = read_upload(form.file.data.read(max_bytes(kind) + 1), kind)
        except UploadRefused as error:
            form.file.errors = [*form.file.errors, str(error)]
            status = error.status
        else:
            path = add_document(application, kind, upload, form.file.data.filename)
            try:
                db.session.commit()
            except Exception:
                path.unlink(missing_ok=True)
                raise
            flash(_("The file is uploaded."), "success")
            return redirect(url_for(".documents", application_id=application.id))
    return render_template("passports/documents.html", application=application, form=form,
                           steps=STEPS, step="documents",
                           missing=missing_parts(application, passport_settings())), status


@bp.post("/<int:application_id>/documents/<int:document_id>/delete")
@login_required
def delete_document(application_id, document_id):
    application = _editable(application_id, lock=True)
    document = next((d for d in application.documents if d.id == document_id), None)
    if document is None:
        abort(404)
    path = path_of(document)
    application.documents.remove(document)
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(_("The file is removed."), "success")
    return redirect(url_for(".documents", application_id=application.id))


@bp.get("/<int:application_id>/documents/<int:document_id>")
@login_required
def document(application_id, document_id):
    application = _own(application_id)
    found = db.session.scalar(sa.select(PassportDocument).where(
        PassportDocument.id == document_id, PassportDocument.application_id == application.id))
    if found is None:
        abort(404)
    return send_document(found)


def _review_page(application, form, status=200):
    settings = passport_settings()
    return render_template("passports/review.html", application=application, form=form,
                           steps=STEPS, step="review", settings=settings,
                           missing=missing_parts(application, settings)), status


@bp.get("/<int:application_id>/review")
@login_required
def review(application_id):
    application = _editable(application_id)
    form = SubmitForm(idempotency_key=secrets.token_urlsafe(24))
    return _review_page(application, form)


@bp.post("/<int:application_id>/submit")
@login_required
def submit(application_id):
    """Submit (or, after a question of the city, submit again). Where the city charges a
    fee, the first submission is a payment: paying submits the application (on_paid)."""
    application = _own(application_id, lock=True)
    form = SubmitForm()
    if application.status not in EDITABLE:
        raise TransitionRefused(application, SUBMITTED)
    valid = form.validate_on_submit()
    answering = application.status == NEEDS_INFORMATION
    if answering and not (form.reply.data or "").strip():
        form.reply.errors = [*form.reply.errors, _("Answer the city's question.")]
        valid = False
    settings = passport_settings()
    if not valid or missing_parts(application, settings):
        return _review_page(application, form, INVALID_FORM)
    fee = settings["fee_fen"]
    if answering or fee == 0:
        transition(application, SUBMITTED, current_user, by=CITIZEN,
                   message=(form.reply.data or "").strip())
        db.session.commit()
        flash(_("Your application %(reference)s is submitted.",
                reference=application.reference), "success")
        return redirect(url_for(".detail", application_id=application.id))
    return pay_and_submit(application, fee, form.idempotency_key.data)


@bp.get("/<int:application_id>")
@login_required
def detail(application_id):
    application = _own(application_id)
    return render_template("passports/detail.html", application=application,
                           fee_link=fee_link(application),
                           missing=missing_parts(application, passport_settings()))
