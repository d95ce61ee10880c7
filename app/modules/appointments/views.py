"""The citizen pages: hospital → department → doctor or any → day → slot → the patient's
details → the confirmation with its reference and QR code; "My appointments", where a booking
is cancelled or moved until the city's cut-off. Plain links and forms, no script."""
import secrets
from collections import defaultdict
from datetime import date, datetime

import segno
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.audit import actor_of
from app.city_time import city_zone
from app.modules import settings_of
from app.modules.appointments import booking
from app.modules.appointments.booking import KEY, AppointmentError, Patient
from app.modules.appointments.forms import WEEKDAYS, PatientForm
from app.modules.appointments.models import (
    BOOKED,
    CANCELLED,
    CHECKED_IN,
    MOVED,
    NO_SHOW,
    Appointment,
    Department,
    Doctor,
    Hospital,
)
from app.modules.appointments.slots import bookable_slots
from app.web.forms import INVALID_FORM, is_supported_day, supported_day
from app.web.input_checks import bigint_arg
from app.web.page_cache import anonymous_page
from app.web.pagination import page_of
from tenants.city_cache import watch
from tenants.db import db

bp = Blueprint("appointments", __name__, template_folder="templates")
# The hospitals' pages are made of these alone: kept whole for anonymous visitors until one
# changes (app/web/page_cache.py).
watch(Hospital.__tablename__, Department.__tablename__)
START_FORMAT = "%Y-%m-%dT%H:%M"  # a slot's start in links: the city's local time
ANY = "any"
PAST_PAGE_SIZE = 20  # of the earlier and cancelled bookings on "My appointments"


def _active_or_404(model, row_id: int | None):
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or not row.active:
        abort(404)
    return row


def department_or_404(department_id) -> Department:
    department = _active_or_404(Department, department_id)
    if not department.hospital.active:
        abort(404)
    return department


def doctor_choice(department: Department, value: str | None) -> Doctor | None:
    """The doctor chosen in a link (`doctor=<id>`), None for any; 404 if not one of the
    department's."""
    if value in (None, "", ANY):
        return None
    try:
        doctor = db.session.get(Doctor, bigint_arg(value))
    except ValueError:  # not a number, or none an id can be
        doctor = None
    if doctor is None or not doctor.active or doctor.department_id != department.id:
        abort(404)
    return doctor


def _start_from(value: str | None) -> datetime:
    try:
        start = datetime.strptime(value or "", START_FORMAT).replace(tzinfo=city_zone())
    except ValueError:
        abort(404)
    if not is_supported_day(start.date()):
        abort(404)
    return start


def _day_from(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return supported_day(value)
    except ValueError:
        abort(404)


def slot_times(department: Department, doctor: Doctor | None, day: date | None) -> list[dict]:
    """The bookable times, one entry per start (schedules at the same time taken together):
    start, local link value, free places, doctors' names."""
    by_start = defaultdict(lambda: {"free": 0, "doctors": set()})
    slots = bookable_slots(department, settings_of(KEY)["horizon_days"],
                           doctor.id if doctor else None, day)
    names = {d.id: d.name_for(get_locale()) for d in department.doctors}
    for slot in slots:
        entry = by_start[slot.starts_at]
        entry["free"] += slot.free
        if slot.doctor_id:
            entry["doctors"].add(names.get(slot.doctor_id, ""))
    return [{"starts_at": start, "value": start.strftime(START_FORMAT), "free": entry["free"],
             "doctors": sorted(entry["doctors"])} for start, entry in sorted(by_start.items())]


def day_summary(times: list[dict]) -> list[dict]:
    days = defaultdict(int)
    for entry in times:
        days[entry["starts_at"].date()] += entry["free"]
    return [{"day": day, "free": free} for day, free in sorted(days.items())]


@bp.get("/")
@anonymous_page
def index():
    hospitals = db.session.scalars(sa.select(Hospital).where(Hospital.active)
                                   .order_by(Hospital.id)).all()
    return render_template("appointments/index.html", hospitals=hospitals)


@bp.get("/hospitals/<int:hospital_id>")
@anonymous_page
def hospital(hospital_id):
    return render_template("appointments/hospital.html",
                           hospital=_active_or_404(Hospital, hospital_id))


@bp.get("/departments/<int:department_id>")
def department(department_id):
    return render_template("appointments/department.html",
                           department=department_or_404(department_id))


@bp.get("/departments/<int:department_id>/times")
def times(department_id):
    """Without `day`: the days with their free places; with it, that day's times."""
    department = department_or_404(department_id)
    doctor = doctor_choice(department, request.args.get("doctor"))
    day = _day_from(request.args.get("day"))
    found = slot_times(department, doctor, day)
    return render_template("appointments/times.html", department=department, doctor=doctor,
                           day=day, times=found, days=day_summary(found), moving=None)


def _appointment_of_citizen(reference: str) -> Appointment:
    appointment = db.session.scalar(sa.select(Appointment).where(
        Appointment.reference == reference, Appointment.user_id == current_user.id))
    if appointment is None:
        abort(404)
    return appointment


@bp.route("/book", methods=["GET", "POST"])
@login_required
def book():
    department = department_or_404(request.args.get("department", type=bigint_arg))
    doctor = doctor_choice(department, request.args.get("doctor"))
    starts_at = _start_from(request.args.get("start"))
    form = PatientForm()
    if not form.is_submitted():
        form.patient_name.data = current_user.display_name
        form.phone.data = current_user.mobile
        form.idempotency_key.data = secrets.token_urlsafe(24)
    refusal, status = None, 200
    if form.validate_on_submit():
        patient = Patient(form.patient_name.data.strip(), form.id_number.data,
                          form.phone.data)
        try:
            appointment = booking.book(current_user, department, doctor.id if doctor else None,
                                       starts_at, patient, actor_of(current_user),
                                       idempotency_key=form.idempotency_key.data)
        except AppointmentError as error:
            db.session.rollback()
            refusal, status = error.message, error.status
        else:
            # Read before the commit expires it: after, it would cost another transaction.
            reference = appointment.reference
            db.session.commit()
            flash(_("Your appointment is booked."), "success")
            return redirect(url_for(".detail", reference=reference))
    elif form.is_submitted():
        status = INVALID_FORM
    return render_template("appointments/book.html", form=form, department=department,
                           doctor=doctor, starts_at=starts_at, refusal=refusal), status


def upcoming_for(user, limit: int | None = None) -> list[Appointment]:
    query = sa.select(Appointment).where(
        Appointment.user_id == user.id, Appointment.status == BOOKED,
        Appointment.starts_at > sa.func.now()).order_by(Appointment.starts_at)
    return db.session.scalars(query.limit(limit)).all()


STATUS_LABELS = {BOOKED: _l("Booked"), CANCELLED: _l("Cancelled"), CHECKED_IN: _l("Checked in"),
                 NO_SHOW: _l("Did not come"), MOVED: _l("Moved")}


@bp.app_context_processor
def template_helpers() -> dict:
    """For "My account", the staff's pages and the notifications (any template)."""
    return {"upcoming_appointments": upcoming_for,
            "appointment_status_label": STATUS_LABELS.get,
            "weekday_name": WEEKDAYS.__getitem__}


@bp.get("/mine")
@login_required
def mine():
    """Every booking of the citizen: those coming up, then the earlier and cancelled ones a
    page at a time."""
    past, page, has_next = page_of(sa.select(Appointment).where(
        Appointment.user_id == current_user.id,
        sa.or_(Appointment.status != BOOKED, Appointment.starts_at <= sa.func.now()))
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc()), PAST_PAGE_SIZE)
    return render_template("appointments/mine.html", upcoming=upcoming_for(current_user),
                           past=past, page=page, has_next=has_next)


@bp.get("/mine/<reference>")
@login_required
def detail(reference):
    appointment = _appointment_of_citizen(reference)
    qr = segno.make(booking.qr_content(appointment), error="m").svg_inline(
        scale=5, border=4, title=_("QR code of the reference %(reference)s",
                                    reference=appointment.reference))
    return render_template("appointments/detail.html", appointment=appointment, qr=qr,
                           changeable=appointment.status == BOOKED
                           and not booking.cutoff_passed(appointment),
                           cutoff_hours=settings_of(KEY)["cutoff_hours"])


@bp.post("/mine/<reference>/cancel")
@login_required
def cancel(reference):
    appointment = _appointment_of_citizen(reference)
    try:
        booking.cancel(appointment, actor_of(current_user))
    except AppointmentError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for(".detail", reference=reference), 303)
    db.session.commit()
    flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for(".mine"), 303)


@bp.route("/mine/<reference>/move", methods=["GET", "POST"])
@login_required
def move(reference):
    """GET: the days, then a day's times, of the same department and doctor; POST `start`:
    move there."""
    appointment = _appointment_of_citizen(reference)
    if request.method == "POST":
        try:
            new = booking.move(appointment, _start_from(request.form.get("start")),
                               actor_of(current_user))
        except AppointmentError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(url_for(".move", reference=reference,
                                    day=request.form.get("day") or None), 303)
        new_reference = new.reference  # read before the commit expires it (as in book)
        db.session.commit()
        flash(_("Your appointment is moved. Its new reference is %(reference)s.",
                reference=new_reference), "success")
        return redirect(url_for(".detail", reference=new_reference), 303)
    if appointment.status != BOOKED or booking.cutoff_passed(appointment):
        flash(_("This appointment can't be moved online any more."), "error")
        return redirect(url_for(".detail", reference=reference))
    day = _day_from(request.args.get("day"))
    doctor = db.session.get(Doctor, appointment.doctor_id) if appointment.doctor_id else None
    found = [t for t in slot_times(appointment.department, doctor, day)
             if t["starts_at"] != appointment.starts_at]
    return render_template("appointments/times.html", department=appointment.department,
                           doctor=doctor, day=day, times=found, days=day_summary(found),
                           moving=appointment)
