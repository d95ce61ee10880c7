"""The module's dashboard figures, each one aggregate query served by an index
(appointments.starts_at, appointments.booked_at, appointment_slots.starts_at,
appointments.checked_in_at)."""
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app.city_time import city_midnight, city_today, day_in
from app.figures import Figure
from app.modules.appointments.models import CANCELLED, MOVED, Appointment, Slot
from tenants.db import db


def appointments_per_day(first_day: date, timezone: str) -> dict:
    """Appointments held (not cancelled or moved) per day of their slot."""
    day = day_in(Appointment.starts_at, timezone)
    rows = db.session.execute(sa.select(day, sa.func.count()).where(
        Appointment.starts_at >= city_midnight(first_day, timezone),
        Appointment.status.not_in((CANCELLED, MOVED))).group_by(day))
    return dict(rows.all())


def bookings_made_per_day(first_day: date, timezone: str) -> dict:
    """Bookings made per day they were made (whatever became of them since); a move makes a
    new row but no new booking, so rows a move made are left out."""
    day = day_in(Appointment.booked_at, timezone)
    moved_from = aliased(Appointment)
    rows = db.session.execute(sa.select(day, sa.func.count()).where(
        Appointment.booked_at >= city_midnight(first_day, timezone),
        ~sa.exists().where(moved_from.moved_to_id == Appointment.id)).group_by(day))
    return dict(rows.all())


def utilisation_per_day(first_day: date, timezone: str) -> dict:
    """(places taken, places) of the slots that had a booking or a block, per day."""
    day = day_in(Slot.starts_at, timezone)
    rows = db.session.execute(sa.select(day, sa.func.sum(Slot.booked),
                                        sa.func.sum(Slot.capacity)).where(
        Slot.starts_at >= city_midnight(first_day, timezone), sa.not_(Slot.blocked)).group_by(day))
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def check_ins_today() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.checked_in_at >= city_midnight(city_today())))


FIGURES = (
    Figure("appointments_per_day", _l("Appointments"), per_day=appointments_per_day),
    Figure("bookings_made_per_day", _l("Bookings made"), per_day=bookings_made_per_day),
    Figure("utilisation_per_day", _l("Places taken"), unit="percent",
           per_day=utilisation_per_day),
    Figure("check_ins_today", _l("Check-ins today"), current=check_ins_today),
)
