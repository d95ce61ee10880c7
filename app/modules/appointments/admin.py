"""The hospitals' side: a department's day list with counts, check-in by reference or QR
content, no-shows, blocking a slot or a day, and the set-up (hospitals, departments, doctors,
weekly schedules, closures). Clerks of the module work the lists; module managers and
administrators change the set-up. Every change is one transaction with its audit entry."""
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app.audit import actor_of, record
from app.city_time import city_day, city_today, city_zone
from app.modules.appointments import booking
from app.modules.appointments.booking import KEY, AppointmentError
from app.modules.appointments.forms import (
    BlockForm,
    CheckInForm,
    ClosureForm,
    DepartmentForm,
    DoctorForm,
    HospitalForm,
    ScheduleForm,
)
from app.modules.appointments.models import (
    STATUSES,
    Appointment,
    Closure,
    Department,
    Doctor,
    Hospital,
    Schedule,
    SlotBlock,
)
from app.modules.appointments.slots import day_bounds
from app.staff.permissions import staff_required
from app.web.forms import INVALID_FORM, form_status, supported_day
from app.web.input_checks import bigint_arg
from tenants.db import db

bp = Blueprint("appointments", __name__, template_folder="templates")
WORK = staff_required("work_module", module=KEY)
CONFIGURE = staff_required("configure_module", module=KEY)

# What the set-up pages edit: the model, its form, the fields saved, the page's titles.
SETUP = {
    "hospitals": (Hospital, HospitalForm, ("name", "name_zh", "address", "address_zh",
                                           "phone", "active"),
                  _l("Add a hospital"), _l("Edit the hospital")),
    "departments": (Department, DepartmentForm, ("hospital_id", "name", "name_zh", "active"),
                    _l("Add a department"), _l("Edit the department")),
    "doctors": (Doctor, DoctorForm, ("department_id", "name", "name_zh", "title",
                                     "title_zh", "active"),
                _l("Add a doctor"), _l("Edit the doctor")),
    "schedules": (Schedule, ScheduleForm, ("department_id", "doctor_id", "weekday",
                                           "start_time", "end_time", "slot_minutes",
                                           "capacity", "valid_from", "valid_to"),
                  _l("Add consulting hours"), _l("Edit the consulting hours")),
}


def _actor() -> str:
    return actor_of(current_user)


def _departments() -> list[Department]:
    return db.session.scalars(sa.select(Department).order_by(Department.id)).all()


def _day_page(form: CheckInForm | None = None, status: int = 200):
    departments = _departments()
    department_id = request.args.get("department", type=bigint_arg) or (
        departments[0].id if departments else None)
    try:
        day = supported_day(request.args.get("day") or "")
    except ValueError:
        day = city_today()
    start, end = day_bounds(day, day)
    rows = db.session.scalars(sa.select(Appointment).where(
        Appointment.department_id == department_id, Appointment.starts_at >= start,
        Appointment.starts_at < end).order_by(Appointment.starts_at, Appointment.id)).all()
    counts = Counter(row.status for row in rows)
    return render_template("appointments/admin/index.html", departments=departments,
                           department_id=department_id, day=day, rows=rows,
                           counts=[(status, counts[status]) for status in STATUSES],
                           form=form or CheckInForm(formdata=None)), status


@bp.get("/")
@WORK
def index():
    return _day_page()


def _back_to_day(appointment: Appointment):
    return redirect(url_for(".index", department=appointment.department_id,
                            day=city_day(appointment.starts_at)
                            .isoformat()), 303)


@bp.post("/check-in")
@WORK
def check_in():
    """By the reference typed, scanned from the QR code, or sent by a row's button."""
    form = CheckInForm()
    if not form.validate_on_submit():
        return _day_page(form, INVALID_FORM)
    reference = booking.normalize_reference(form.code.data)
    appointment = booking.by_reference(reference) if reference else None
    if appointment is None:
        form.code.errors.append(_("No appointment of this city has this code."))
        return _day_page(form, 404)
    try:
        booking.check_in(appointment, _actor())
    except AppointmentError as error:
        db.session.rollback()
        form.code.errors.append(str(error.message))
        return _day_page(form, error.status)
    db.session.commit()
    flash(_("%(patient)s is checked in (%(reference)s).", patient=appointment.patient_name,
            reference=appointment.reference), "success")
    return _back_to_day(appointment)


@bp.post("/<int:appointment_id>/no-show")
@WORK
def no_show(appointment_id):
    appointment = db.session.get(Appointment, appointment_id) or abort(404)
    try:
        booking.mark_no_show(appointment, _actor())
    except AppointmentError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _back_to_day(appointment)
    db.session.commit()
    flash(_("%(reference)s is marked as a no-show.", reference=appointment.reference),
          "success")
    return _back_to_day(appointment)


def _block_page(form: BlockForm, status: int):
    blocks = db.session.scalars(sa.select(SlotBlock).where(SlotBlock.day >= city_today())
                                .order_by(SlotBlock.day, SlotBlock.starts_at, SlotBlock.id)).all()
    return render_template("appointments/admin/block.html", form=form, blocks=blocks), status


@bp.route("/block", methods=["GET", "POST"])
@WORK
def block():
    form = BlockForm()
    form.fill()
    if not form.validate_on_submit():
        return _block_page(form, form_status(form))
    department = db.session.get(Department, form.department_id.data)
    starts_at = (datetime.combine(form.day.data, form.time.data, tzinfo=city_zone())
                 if form.time.data else None)
    try:
        cancelled = booking.block(department, form.doctor_id.data, form.day.data, starts_at,
                                  form.reason.data, _actor(), form.reason_zh.data)
    except booking.NoSuchSlot as error:
        db.session.rollback()
        form.time.errors.append(str(error.message))
        return _block_page(form, error.status)
    db.session.commit()
    flash(_("Blocked. Appointments cancelled and their citizens told: %(count)d.",
            count=len(cancelled)), "success")
    return redirect(url_for(".index", department=department.id,
                            day=form.day.data.isoformat()), 303)


@bp.post("/block/<int:block_id>/unblock")
@WORK
def unblock(block_id):
    """Make the time bookable again; the appointments the block cancelled stay cancelled."""
    entry = db.session.get(SlotBlock, block_id) or abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    booking.unblock(entry, _actor())
    db.session.commit()
    flash(_("Unblocked: the time can be booked again. Appointments the block cancelled stay "
            "cancelled."), "success")
    return redirect(url_for(".block"), 303)


# -- set-up ---------------------------------------------------------------------------------------

@bp.get("/setup")
@CONFIGURE
def setup():
    def rows(model):
        return db.session.scalars(sa.select(model).order_by(model.id)).all()

    closures = db.session.scalars(sa.select(Closure).where(Closure.last_day >= city_today())
                                  .order_by(Closure.first_day)).all()
    return render_template("appointments/admin/setup.html", hospitals=rows(Hospital),
                           departments=rows(Department), doctors=rows(Doctor),
                           schedules=rows(Schedule), closures=closures)


@bp.route("/<kind>/new", methods=["GET", "POST"], endpoint="create")
@bp.route("/<kind>/<int:row_id>", methods=["GET", "POST"])
@CONFIGURE
def edit(kind, row_id=None):
    if kind not in SETUP:
        abort(404)
    model, form_class, fields, add_title, edit_title = SETUP[kind]
    row = None
    if row_id is not None:
        row = db.session.get(model, row_id) or abort(404)
    form = form_class(obj=row)
    if hasattr(form, "fill"):
        form.fill()
    if not form.validate_on_submit():
        return render_template("appointments/admin/edit.html", form=form,
                               title=edit_title if row else add_title), (
            form_status(form))
    before = booking.row_snapshot(row, fields) if row else None
    if row is None:
        row = model()
        db.session.add(row)
    for name in fields:
        value = form[name].data
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    if isinstance(row, Schedule) and before:
        booking.schedule_changed(row)
    record(_actor(), f"appointments.{kind}.{'update' if before else 'create'}", str(row.id),
           before, booking.row_snapshot(row, fields))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for(".setup"), 303)


@bp.route("/closures/new", methods=["GET", "POST"])
@CONFIGURE
def add_closure():
    form = ClosureForm()
    form.fill()
    if not form.validate_on_submit():
        return render_template("appointments/admin/edit.html", form=form,
                               title=_("Close for holidays")), (
            form_status(form))
    closure = Closure(hospital_id=form.hospital_id.data, department_id=form.department_id.data,
                      doctor_id=form.doctor_id.data, first_day=form.first_day.data,
                      last_day=form.last_day.data, reason=form.reason.data,
                      reason_zh=form.reason_zh.data)
    cancelled = booking.close(closure, _actor())
    db.session.commit()
    flash(_("The closure is saved. Appointments cancelled and their citizens told: "
            "%(count)d.", count=len(cancelled)), "success")
    return redirect(url_for(".setup"), 303)


@bp.post("/closures/<int:closure_id>/delete")
@CONFIGURE
def delete_closure(closure_id):
    """Reopen the closed days; the appointments the closure cancelled stay cancelled."""
    closure = db.session.get(Closure, closure_id) or abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    booking.delete_closure(closure, _actor())
    db.session.commit()
    flash(_("The closure is deleted: its days can be booked again. Appointments it "
            "cancelled stay cancelled."), "success")
    return redirect(url_for(".setup"), 303)
