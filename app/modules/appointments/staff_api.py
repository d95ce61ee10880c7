"""The hospitals' day lists in the REST API for staff (docs/api.md): a day's appointments, as
the console's day list shows them, to those who may work the module (`staff:read`)."""
from datetime import date

import marshmallow as ma
import sqlalchemy as sa

from app.city_time import city_today
from app.modules.appointments.booking import KEY
from app.modules.appointments.models import STATUSES, Appointment
from app.modules.appointments.slots import day_bounds
from app.oauth.server import raise_staff_refusal, scope_required, staff_may
from app.rest import ApiBlueprint, page_of
from app.staff.permissions import WORK_MODULE

bp = ApiBlueprint("api_staff_appointments", __name__, url_prefix="/api/v1/staff/bookings",
                  description="Hospital appointments by day, for the hospitals' staff")


class DayArgs(ma.Schema):
    day = ma.fields.Date(load_default=None, metadata={"description": "Default: today (city "
                                                                     "time)"})
    department_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(
        min=1, max=2**63 - 1), metadata={"description": "Default: every department"})
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))


class StaffBookingSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    department_id = ma.fields.Integer(required=True)
    doctor_id = ma.fields.Integer(allow_none=True)
    starts_at = ma.fields.DateTime(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    patient_name = ma.fields.String(required=True)
    id_number_last4 = ma.fields.String(required=True)
    phone = ma.fields.String(required=True)
    booked_at = ma.fields.DateTime(required=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)


@bp.route("")
@bp.etag
@bp.arguments(DayArgs, location="query")
@bp.response(200, StaffBookingSchema(many=True))
@bp.paginate()
@scope_required("staff:read", module=KEY)
def bookings_of_day(args, pagination_parameters):
    """A day's appointments in time order, as the console's day list (patients' details:
    only for staff who work the module, as in the console)."""
    if not staff_may(WORK_MODULE, KEY):
        raise_staff_refusal()
    day: date = args["day"] or city_today()
    start, end = day_bounds(day, day)
    query = sa.select(Appointment).where(Appointment.starts_at >= start,
                                         Appointment.starts_at < end)
    if args["department_id"]:
        query = query.where(Appointment.department_id == args["department_id"])
    if args["status"]:
        query = query.where(Appointment.status == args["status"])
    return page_of(query.order_by(Appointment.starts_at, Appointment.id), pagination_parameters)
