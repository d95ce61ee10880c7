from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class AppointmentSettings(Schema):
    horizon_days = fields.Integer(
        load_default=14, validate=validate.Range(min=1, max=90),
        metadata={"label": _l("Days ahead that can be booked")})
    cutoff_hours = fields.Integer(
        load_default=2, validate=validate.Range(min=0, max=168),
        metadata={"label": _l("Hours before the appointment until which citizens may cancel "
                              "or move it")})
    reminder_hours = fields.Integer(
        load_default=24, validate=validate.Range(min=1, max=168),
        metadata={"label": _l("Hours before the appointment to send the reminder")})
    max_active_per_citizen = fields.Integer(
        load_default=3, validate=validate.Range(min=1, max=20),
        metadata={"label": _l("Upcoming appointments a citizen may hold at once")})
    one_per_department_per_day = fields.Boolean(
        load_default=True,
        metadata={"label": _l("At most one appointment per citizen per department and day")})
