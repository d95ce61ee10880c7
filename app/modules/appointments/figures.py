"""The module's dashboard figures, each one aggregate query served by an index
(appointments.starts_at, appointment_slots.starts_at, appointments.checked_in_at)."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Figure
from app.modules.appointments.models import CANCELLED, MOVED, Appointment, Slot
from app.modules.appointments.slots import city_today, city_zone
from tenants.db import db


def _local_day(column, timezone: str):
    return sa.cast(sa.func.timezone(timezone, column), sa.Date)


def _since(first_day: date, timezone: str) -> datetime:
    return datetime.combine(first_day, time.min, tzinfo=ZoneInfo(timezone))


def appointments_per_day(first_day: date, timezone: str) -> dict:
    """Appointments held (not cancelled or moved) per day of their slot."""
    day = _local_day(Appointment.starts_at, timezone)
    rows = db.session.execute(sa.select(day, sa.func.count()).where(
        Appointment.starts_at >= _since(first_day, timezone),
        Appointment.status.not_in((CANCELLED, MOVED))).group_by(day))
    return dict(rows.all())


def utilisation_per_day(first_day: date, timezone: str) -> dict:
    """(places taken, places) of the slots that had a booking or a block, per day."""
    day = _local_day(Slot.starts_at, timezone)
    rows = db.session.execute(sa.select(day, sa.func.sum(Slot.booked),
                                        sa.func.sum(Slot.capacity)).where(
        Slot.starts_at >= _since(first_day, timezone), sa.not_(Slot.blocked)).group_by(day))
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def check_ins_today() -> int:
    since = datetime.combine(city_today(), time.min, tzinfo=city_zone())
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.checked_in_at >= since))


FIGURES = (
    Figure("appointments_per_day", _l("Appointments"), per_day=appointments_per_day),
    Figure("utilisation_per_day", _l("Places taken"), unit="percent",
           per_day=utilisation_per_day),
    Figure("check_ins_today", _l("Check-ins today"), current=check_ins_today),
)
