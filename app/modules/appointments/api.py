"""Hospital appointments in the REST API (docs/api.md): the public catalogue (hospitals with
their departments and doctors, a department's bookable times) and the citizen's bookings
(list, one, book, cancel). Writes go through booking.py, as the pages' do: the same limits,
per-patient rule, idempotency, audit entries, notifications and webhook events."""
import marshmallow as ma
import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from app.accounts import is_mobile, normalize_mobile
from app.city_time import city_zone, day_in
from app.modules.appointments import booking
from app.modules.appointments.booking import AppointmentError, Patient
from app.modules.appointments.forms import ID_NUMBER_HINT, MOBILE_HINT, is_resident_id
from app.modules.appointments.models import STATUSES, Appointment, Hospital
from app.modules.appointments.views import department_or_404, doctor_choice, slot_times
from app.oauth.server import (
    citizens_own,
    current_token,
    scope_required,
    throttle_address,
    token_actor,
)
from app.rest import ApiBlueprint, IdempotencyKeySchema, Problem, page_of
from app.web.input_checks import BIGINT_MAX
from tenants.context import current_tenant
from tenants.db import db

bp = ApiBlueprint("api_appointments", __name__, url_prefix="/api/v1/appointments",
                  description="Hospital appointments: the hospitals, their bookable times, "
                              "and the citizen's bookings")
STRING = {"type": "string"}
ROW_ID = ma.validate.Range(min=1, max=BIGINT_MAX)


def _name(row) -> str | None:
    return row.name_for(get_locale()) if row is not None else None


class CityTime(ma.fields.DateTime):
    """A moment as the city's clocks show it (ISO 8601 with the city's offset), as slots are."""

    def _serialize(self, value, attr, obj, **kwargs):
        local = value.astimezone(city_zone()) if value is not None else None
        return super()._serialize(local, attr, obj, **kwargs)


class DoctorSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.Function(_name, required=True, metadata=STRING)
    title = ma.fields.Function(lambda doctor: doctor.title_for(get_locale()), required=True,
                               metadata=STRING)


class DepartmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.Function(_name, required=True, metadata=STRING)
    doctors = ma.fields.Nested(DoctorSchema, many=True, attribute="active_doctors",
                               required=True)


class HospitalSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.Function(_name, required=True, metadata=STRING)
    address = ma.fields.Function(lambda hospital: hospital.address_for(get_locale()),
                                 required=True, metadata=STRING)
    phone = ma.fields.String(required=True)
    departments = ma.fields.Nested(DepartmentSchema, many=True, attribute="open_departments",
                                   required=True)


class SlotFilterSchema(ma.Schema):
    date_from = ma.fields.Date(metadata={"description": "The first day (the city's calendar)"})
    date_to = ma.fields.Date(metadata={"description": "The last day"})
    doctor_id = ma.fields.Integer(validate=ROW_ID, metadata={
        "description": "Only this doctor's times (else every doctor's and the department's)"})


class SlotSchema(ma.Schema):
    starts_at = ma.fields.DateTime(required=True, metadata={
        "description": "In the city's time zone; book it with this value"})
    free = ma.fields.Integer(required=True, metadata={"description": "Places left (0: full)"})
    doctors = ma.fields.List(ma.fields.String(), required=True)


class BookingFilterSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    date_from = ma.fields.Date(metadata={"description": "Appointments from this day on (the "
                                                       "city's calendar)"})
    date_to = ma.fields.Date(metadata={"description": "Appointments until this day"})


class BookingSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    starts_at = CityTime(required=True)
    hospital = ma.fields.Function(lambda a: _name(a.department.hospital), required=True,
                                 metadata=STRING)
    department_id = ma.fields.Integer(required=True)
    department = ma.fields.Function(lambda a: _name(a.department), required=True,
                                   metadata=STRING)
    doctor_id = ma.fields.Integer(allow_none=True, required=True)
    doctor = ma.fields.Function(lambda a: _name(a.doctor), allow_none=True, required=True,
                               metadata=STRING)
    patient_name = ma.fields.String(required=True)
    id_number = ma.fields.String(attribute="masked_id_number", required=True)
    phone = ma.fields.String(required=True)
    booked_at = CityTime(required=True)
    cancelled_at = CityTime(allow_none=True, required=True)
    cancelled_by = ma.fields.String(allow_none=True, required=True)
    changeable = ma.fields.Function(
        lambda a: a.status == booking.BOOKED and not booking.cutoff_passed(a), required=True,
        metadata={"type": "boolean", "description": "Whether it may still be cancelled"})
    qr_content = ma.fields.Function(booking.qr_content, required=True, metadata={
        **STRING, "description": "What the QR code for the hospital's desk holds"})


class NewBookingSchema(ma.Schema):
    """The booking form's fields (forms.PatientForm, with the same checks) and the slot."""
    department_id = ma.fields.Integer(required=True, validate=ROW_ID)
    doctor_id = ma.fields.Integer(allow_none=True, load_default=None, validate=ROW_ID,
                                  metadata={"description": "Leave out for any doctor"})
    starts_at = ma.fields.AwareDateTime(required=True, metadata={
        "description": "A slot's start, as the slots list gives it"})
    patient_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100),
                                    metadata={"pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"})
    id_number = ma.fields.String(required=True, metadata={
        "pattern": "^[0-9]{17}[0-9X]$",
        "description": "The resident ID card number; its last character is a check character"})
    phone = ma.fields.String(required=True, metadata={
        "pattern": "^1[3-9][0-9]{9}$", "description": "A mainland China mobile number"})

    @ma.validates("patient_name")
    def _named(self, value, **_kwargs):
        if not value.strip():
            raise ma.ValidationError(_("Enter the patient's name."))

    @ma.validates("id_number")
    def _resident_id(self, value, **_kwargs):
        if not is_resident_id(value.strip().upper()):
            raise ma.ValidationError(str(ID_NUMBER_HINT))

    @ma.validates("phone")
    def _mobile(self, value, **_kwargs):
        if not is_mobile(value):
            raise ma.ValidationError(str(MOBILE_HINT))

    @ma.post_load
    def _normalized(self, data, **_kwargs):
        return {**data, "patient_name": data["patient_name"].strip(),
                "id_number": data["id_number"].strip().upper(),
                "phone": normalize_mobile(data["phone"])}


def _refused(error: AppointmentError) -> Problem:
    return Problem(error.status, str(error.message), kind="appointment_refused")


def _not_found(field: str, message: str) -> Problem:
    """What the body names (a department, a doctor) is not there."""
    return Problem(404, message, errors={"json": {field: [message]}})


# -- the public catalogue --------------------------------------------------------------------

@bp.route("/hospitals")
@bp.etag
@bp.response(200, HospitalSchema(many=True))
@bp.paginate()
def hospitals(pagination_parameters):
    """The city's hospitals open for booking, with their departments and doctors."""
    throttle_address()
    return page_of(sa.select(Hospital).where(Hospital.active).order_by(Hospital.id),
                   pagination_parameters)


@bp.route("/departments/<int:department_id>/slots")
@bp.etag
@bp.arguments(SlotFilterSchema, location="query", as_kwargs=True)
@bp.response(200, SlotSchema(many=True))
def slots(department_id, date_from=None, date_to=None, doctor_id=None):
    """A department's bookable times within the city's booking horizon (full ones too, with
    0 places free), optionally of one doctor and between two days."""
    throttle_address()
    department = department_or_404(department_id)
    doctor = doctor_choice(department, str(doctor_id) if doctor_id else None)
    day = date_from if date_from is not None and date_from == date_to else None
    return [entry for entry in slot_times(department, doctor, day)
            if (date_from is None or entry["starts_at"].date() >= date_from)
            and (date_to is None or entry["starts_at"].date() <= date_to)]


# -- the citizen's bookings ------------------------------------------------------------------

@bp.route("/bookings")
@bp.etag
@bp.arguments(BookingFilterSchema, location="query", as_kwargs=True)
@bp.response(200, BookingSchema(many=True))
@bp.paginate()
@scope_required("bookings:read")
def bookings(pagination_parameters, status=None, date_from=None, date_to=None):
    """The citizen's appointments, the latest first."""
    query = sa.select(Appointment).where(Appointment.user_id == current_token().user_id)
    if status:
        query = query.where(Appointment.status == status)
    day = day_in(Appointment.starts_at, current_tenant().timezone)
    if date_from is not None:
        query = query.where(day >= date_from)
    if date_to is not None:
        query = query.where(day <= date_to)
    return page_of(query.order_by(Appointment.starts_at.desc(), Appointment.id.desc()),
                   pagination_parameters)


@bp.route("/bookings/<reference>")
@bp.etag
@bp.response(200, BookingSchema)
@scope_required("bookings:read")
def booking_detail(reference):
    """One of the citizen's appointments."""
    return citizens_own(Appointment, Appointment.reference == reference)


@bp.route("/bookings", methods=["POST"])
@bp.arguments(IdempotencyKeySchema, location="headers")
@bp.arguments(NewBookingSchema)
@bp.response(201, BookingSchema)
@scope_required("bookings:write")
def book(headers, data):
    """Book a slot for a patient, under the city's limits (per patient) as on the site. The
    same Idempotency-Key again answers the booking it made."""
    try:
        department = department_or_404(data["department_id"])
    except NotFound:
        raise _not_found("department_id", _("There is no such department open for booking.")
                         ) from None
    try:
        doctor = doctor_choice(department, str(data["doctor_id"]) if data["doctor_id"] else None)
    except NotFound:
        raise _not_found("doctor_id", _("Choose a doctor of the chosen department.")) from None
    token = current_token()
    try:
        appointment = booking.book(
            token.get_user(), department, doctor.id if doctor else None, data["starts_at"],
            Patient(data["patient_name"], data["id_number"], data["phone"]),
            token_actor(token), idempotency_key=headers["idempotency_key"])
    except AppointmentError as error:
        raise _refused(error) from None
    except OverflowError:  # a moment at the calendar's very edge: no slot starts then
        raise _refused(booking.SlotUnavailable()) from None
    db.session.commit()
    return appointment


@bp.route("/bookings/<reference>/cancel", methods=["POST"])
@bp.response(200, BookingSchema)
@scope_required("bookings:write")
def cancel(reference):
    """Cancel one of the citizen's appointments, until the city's cut-off."""
    appointment = citizens_own(Appointment, Appointment.reference == reference)
    try:
        appointment = booking.cancel(appointment, token_actor(current_token()))
    except AppointmentError as error:
        raise _refused(error) from None
    db.session.commit()
    return appointment
