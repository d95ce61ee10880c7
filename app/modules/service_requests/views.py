"""The citizen's pages: report a problem (a category, then its form with the category's extra
questions, the place, up to three photos; signed in, or anonymous with an email address),
the tracking number at once, and the public list of the city's requests with a page for each
and its history — never the reporter's name or contact details.

City pages run no script, so the phone's geolocation API is out of reach; the place is an
address and, optionally, coordinates typed in or taken (when the reporter ticks the box) from
the GPS position the phone's camera stored in the photo. No map and nothing from another host:
a request's page links its coordinates with a geo: URI, which the phone's own map app opens."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import client_address_key, limiter
from app.modules import settings_of
from app.modules.service_requests.answers import (
    AnswersRefused,
    clean_text,
    read_answers,
    shown_answers,
)
from app.modules.service_requests.forms import ReportForm
from app.modules.service_requests.models import (
    CLOSED,
    KEY,
    OPEN,
    PUBLIC,
    ServiceCategory,
    ServiceRequest,
    ServiceRequestPhoto,
    request_id_of,
)
from app.modules.service_requests.photos import (
    MAX_PHOTOS,
    PHOTO_MAX_BYTES,
    PhotoRefused,
    add_photo,
    read_photo,
    send_photo,
)
from app.modules.service_requests.workflow import CLOSE_REASON_LABELS, STATUS_LABELS, submit
from app.web.forms import INVALID_FORM
from app.web.pagination import page_of
from tenants.db import db

bp = Blueprint("service_requests", __name__, template_folder="templates")
PUBLIC_FILTERS = {"open": OPEN, "closed": (CLOSED,)}
MY_PAGE_SIZE = 20


@bp.app_context_processor
def service_request_helpers() -> dict:
    """What the templates (also "My account", the staff's pages and mails) look up."""
    return {"service_request_statuses": STATUS_LABELS,
            "service_request_close_reasons": CLOSE_REASON_LABELS,
            "my_service_requests": _my_requests}


def _my_requests_query() -> sa.Select:
    return sa.select(ServiceRequest).where(ServiceRequest.user_id == current_user.id).order_by(
        ServiceRequest.id.desc())


def _my_requests(limit: int | None = None) -> list[ServiceRequest]:
    return db.session.scalars(_my_requests_query().limit(limit)).all()


def _open_categories() -> list[ServiceCategory]:
    return db.session.scalars(sa.select(ServiceCategory).where(ServiceCategory.active)
                              .order_by(ServiceCategory.id)).all()


@bp.get("/mine")
@login_required
def mine():
    """Every report of the signed-in citizen, newest first, a page at a time."""
    found, page, has_next = page_of(_my_requests_query(), MY_PAGE_SIZE)
    return render_template("service_requests/mine.html", reports=found, page=page,
                           has_next=has_next)


@bp.get("/")
def index():
    return render_template("service_requests/index.html", categories=_open_categories(),
                           mine=_my_requests(5) if current_user.is_authenticated else [])


def _anonymous_limit() -> str:
    return f"{settings_of(KEY)['anonymous_reports_per_hour']} per hour"


@bp.route("/report/<code>", methods=["GET", "POST"])
@limiter.limit(_anonymous_limit, methods=["POST"], key_func=client_address_key,
               exempt_when=lambda: current_user.is_authenticated)
def report(code):
    category = db.session.scalar(sa.select(ServiceCategory).where(
        ServiceCategory.code == code, ServiceCategory.active))
    if category is None:
        abort(404)
    signed_in = current_user.is_authenticated
    if not signed_in and not settings_of(KEY)["anonymous_reports"]:
        flash(_("Sign in to report a problem."), "info")
        return redirect(url_for("citizen.login", next=request.path))
    form = ReportForm()
    if signed_in:
        form.signed_in()
    if not form.is_submitted():
        return _report_page(category, form)
    valid = form.validate()
    answers, answer_errors = {}, {}
    try:
        answers = read_answers(category, _given_answers(category))
    except AnswersRefused as refused:
        answer_errors = refused.errors
    photos, status = [], INVALID_FORM
    try:
        photos = _read_photos()
    except PhotoRefused as refused:
        form.photos.errors = [*form.photos.errors, str(refused)]
        status = refused.status
    if not valid or answer_errors or form.photos.errors:
        return _report_page(category, form, answer_errors, status)
    latitude, longitude = form.latitude.data, form.longitude.data
    if latitude is None and form.use_photo_location.data:
        latitude, longitude = next((photo.position for photo in photos if photo.position),
                                   (None, None))
    created = submit(
        category, locale=str(get_locale()), user=current_user if signed_in else None,
        description=form.description.data, address=form.address.data,
        latitude=latitude, longitude=longitude, answers=answers,
        contact_email="" if signed_in else form.contact_email.data.lower(),
        contact_name="" if signed_in else form.contact_name.data or "")
    written = [add_photo(created, photo) for photo in photos]
    try:
        db.session.commit()
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    flash(_("Thank you: your report is received. Its tracking number is %(number)s.",
            number=created.tracking_number), "success")
    if form.use_photo_location.data and form.latitude.data is None and latitude is None:
        flash(_("Your photos carried no location: the report has the address only."), "info")
    return redirect(url_for(".public_request", tracking_number=created.tracking_number), 303)


def _given_answers(category: ServiceCategory) -> dict[str, list[str]]:
    """The form's answers, named as Open311 names them: attribute[code]."""
    return {attribute.code: [clean_text(value) for value in
                             request.form.getlist(f"attribute[{attribute.code}]")]
            for attribute in category.attributes}


def _read_photos():
    files = [upload for upload in request.files.getlist("photos") if upload.filename]
    if len(files) > MAX_PHOTOS:
        raise PhotoRefused(_("Send at most %(count)d photos.", count=MAX_PHOTOS))
    return [read_photo(upload.read(PHOTO_MAX_BYTES + 1)) for upload in files]


def _report_page(category, form, answer_errors=None, status=200):
    return render_template(
        "service_requests/report.html", category=category, form=form,
        answer_errors=answer_errors or {}, locale=get_locale(),
        given=_given_answers(category) if form.is_submitted() else {}), status


@bp.get("/requests")
def public_list():
    locale = get_locale()
    categories = _open_categories()
    code, state = request.args.get("category", ""), request.args.get("status", "")
    query = sa.select(ServiceRequest).where(ServiceRequest.status.in_(
        PUBLIC_FILTERS.get(state, PUBLIC)))
    if code:
        query = query.join(ServiceCategory).where(ServiceCategory.code == code)
    found, page, has_next = page_of(query.order_by(ServiceRequest.created_at.desc(),
                                                   ServiceRequest.id.desc()))
    return render_template("service_requests/list.html", requests=found, page=page,
                           has_next=has_next, categories=categories, code=code,
                           state=state if state in PUBLIC_FILTERS else "", locale=locale)


def _public(tracking_number: str) -> ServiceRequest:
    found = db.session.scalar(sa.select(ServiceRequest).where(
        ServiceRequest.id == request_id_of(tracking_number),
        ServiceRequest.status.in_(PUBLIC)))
    if found is None:
        abort(404)
    return found


@bp.get("/requests/<tracking_number>")
def public_request(tracking_number):
    found = _public(tracking_number)
    locale = get_locale()
    own = current_user.is_authenticated and found.user_id == current_user.id
    return render_template(
        "service_requests/detail.html", service_request=found, locale=locale,
        events=[event for event in found.events if event.is_public],
        answers=shown_answers(found.category, found.answers, locale) if own else [])


@bp.get("/photos/<stored_name>")
def photo(stored_name):
    found = db.session.scalar(sa.select(ServiceRequestPhoto).join(ServiceRequest).where(
        ServiceRequestPhoto.stored_name == stored_name, ServiceRequestPhoto.public,
        ServiceRequest.status.in_(PUBLIC)))
    if found is None:
        abort(404)
    return send_photo(found, public=True)
