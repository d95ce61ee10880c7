"""Which slots can be booked: the weekly schedules, minus closures and staff blocks, within the
city's horizon (setting `horizon_days`, from today), in the city's time zone, and not yet
started. Counts of places taken come from the slot counters (models.Slot)."""
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.city_time import city_midnight, city_today, city_zone
from app.modules.appointments.models import Closure, Department, Schedule, Slot, SlotBlock
from tenants.db import db


@dataclass(frozen=True)
class OpenSlot:
    """One slot of one schedule, with the places its counter says are taken."""
    schedule_id: int
    department_id: int
    doctor_id: int | None
    starts_at: datetime  # aware, in the city's time zone
    ends_at: datetime
    capacity: int
    booked: int = 0
    blocked: bool = False

    @property
    def free(self) -> int:
        return 0 if self.blocked else max(self.capacity - self.booked, 0)


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """From the first day's midnight to the midnight after the last day, in the city."""
    return city_midnight(first_day), city_midnight(last_day + timedelta(days=1))


def horizon(horizon_days: int) -> tuple[date, date]:
    """The first and last bookable day: today and `horizon_days` - 1 days after it."""
    today = city_today()
    return today, today + timedelta(days=horizon_days - 1)


def schedule_slots(schedules: Iterable[Schedule], first_day: date, last_day: date,
                   zone: ZoneInfo) -> Iterator[OpenSlot]:
    """Every slot the schedules give from `first_day` to `last_day`, before closures and
    blocks; a slot that would run past the end of the consulting hours is not given."""
    day = first_day
    while day <= last_day:
        for schedule in schedules:
            if schedule.weekday != day.weekday() \
                    or (schedule.valid_from and day < schedule.valid_from) \
                    or (schedule.valid_to and day > schedule.valid_to):
                continue
            step = timedelta(minutes=schedule.slot_minutes)
            start = datetime.combine(day, schedule.start_time, tzinfo=zone)
            end_of_hours = datetime.combine(day, schedule.end_time, tzinfo=zone)
            while start + step <= end_of_hours:
                yield OpenSlot(schedule.id, schedule.department_id, schedule.doctor_id,
                               start, start + step, schedule.capacity)
                start += step
        day += timedelta(days=1)


def _closed(slot: OpenSlot, hospital_id: int, closures: list[Closure]) -> bool:
    day = slot.starts_at.date()
    return any(c.hospital_id == hospital_id and c.first_day <= day <= c.last_day
               and c.department_id in (None, slot.department_id)
               and c.doctor_id in (None, slot.doctor_id) for c in closures)


def _blocked(slot: OpenSlot, blocks: list[SlotBlock]) -> bool:
    return any(b.department_id == slot.department_id and b.doctor_id in (None, slot.doctor_id)
               and b.day == slot.starts_at.date()
               and (b.starts_at is None or b.starts_at == slot.starts_at) for b in blocks)


def schedules_of(department_id: int, doctor_id: int | None = None) -> list[Schedule]:
    """The department's schedules; only the doctor's when `doctor_id` is given."""
    query = sa.select(Schedule).where(Schedule.department_id == department_id)
    if doctor_id is not None:
        query = query.where(Schedule.doctor_id == doctor_id)
    return db.session.scalars(query.order_by(Schedule.id)).all()


def bookable_slots(department: Department, horizon_days: int, doctor_id: int | None = None,
                   day: date | None = None) -> list[OpenSlot]:
    """The department's slots (the doctor's only, when given) in the horizon, or on `day`
    if it lies in it, that have not started and are neither closed nor blocked; with their
    counters. Full slots are included (free == 0)."""
    zone = city_zone()
    first_day, last_day = horizon(horizon_days)
    if day is not None:
        if not first_day <= day <= last_day:
            return []
        first_day = last_day = day
    schedules = schedules_of(department.id, doctor_id)
    if not schedules:
        return []
    closures = db.session.scalars(sa.select(Closure).where(
        Closure.hospital_id == department.hospital_id,
        Closure.first_day <= last_day, Closure.last_day >= first_day)).all()
    blocks = db.session.scalars(sa.select(SlotBlock).where(
        SlotBlock.department_id == department.id,
        SlotBlock.day.between(first_day, last_day))).all()
    start, end = day_bounds(first_day, last_day)
    counters = {(row.schedule_id, row.starts_at): row for row in db.session.scalars(
        sa.select(Slot).where(Slot.schedule_id.in_([s.id for s in schedules]),
                              Slot.starts_at >= start, Slot.starts_at < end))}
    now = datetime.now(UTC)
    found = []
    for slot in schedule_slots(schedules, first_day, last_day, zone):
        if slot.starts_at <= now or _closed(slot, department.hospital_id, closures) \
                or _blocked(slot, blocks):
            continue
        counter = counters.get((slot.schedule_id, slot.starts_at))
        if counter is not None:
            slot = OpenSlot(slot.schedule_id, slot.department_id, slot.doctor_id,
                            slot.starts_at, slot.ends_at, counter.capacity, counter.booked,
                            counter.blocked)
        found.append(slot)
    return sorted(found, key=lambda s: (s.starts_at, s.schedule_id))
