"""Capacity and the anti-scalping rules hold when many bookings arrive at the same moment:
threads with sessions of their own against the real PostgreSQL."""
import threading
from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from app.modules.appointments import booking
from app.modules.appointments.models import Appointment, Department, Slot
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    appointment,
    book,
    enable,
    local,
    new_citizen,
    set_up_hospital,
    tomorrow,
)


def together(calls) -> list:
    """Run each call in a thread of its own, released together; the outcome of each: what it
    returned or the refusal it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except booking.AppointmentError as refusal:
            outcomes[index] = refusal

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def at_once(app, tenant, attempts) -> list:
    """Each attempt (user_id, department_id, starts_at, doctor_id) booked in a thread of its
    own, released together; the outcome of each: a reference or the refusal."""
    return together([partial(book, app, tenant, *args) for args in attempts])


def test_twenty_citizens_at_a_slot_of_three_exactly_three_get_it(app, make_city):
    town = make_city("rush", locale="en", timezone="Asia/Shanghai")
    enable(app, town)
    place = set_up_hospital(app, town, capacity=3)
    starts_at = local(tomorrow(), 9)
    citizens = [new_citizen(app, town) for _ in range(20)]
    outcomes = at_once(app, town, [(c, place.department, starts_at, place.doctor)
                                   for c in citizens])
    booked = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if not isinstance(o, str)]
    assert len(booked) == 3 and len(refused) == 17
    assert all(isinstance(o, booking.SlotFull) for o in refused)
    assert str(refused[0].message).startswith("This slot is full")
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(Slot.booked).where(
            Slot.schedule_id == place.doctor_schedule, Slot.starts_at == starts_at)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.starts_at == starts_at, Appointment.status == "booked")) == 3


def test_one_citizen_booking_everywhere_at_once_gets_no_more_than_allowed(app, make_city):
    town = make_city("scalper", locale="en", timezone="Asia/Shanghai")
    enable(app, town, max_active_per_citizen=2)
    place = set_up_hospital(app, town)
    citizen = new_citizen(app, town)
    attempts = [(citizen, department, local(tomorrow() + timedelta(days=day), 9), None)
                for day in range(4) for department in (place.department,
                                                        place.other_department)]
    outcomes = at_once(app, town, attempts)
    assert sum(isinstance(o, str) for o in outcomes) == 2
    assert all(isinstance(o, booking.TooManyBookings | booking.SameDepartmentDay)
               for o in outcomes if not isinstance(o, str))


def test_one_per_department_and_day_holds_at_once(app, make_city):
    town = make_city("sameday", locale="en", timezone="Asia/Shanghai")
    enable(app, town, max_active_per_citizen=10)
    place = set_up_hospital(app, town)
    citizen = new_citizen(app, town)
    outcomes = at_once(app, town, [(citizen, place.department, local(tomorrow(), hour),
                                    place.doctor) for hour in (8, 9, 10, 11)])
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert sum(isinstance(o, booking.SameDepartmentDay) for o in outcomes) == 3


def test_a_block_racing_bookings_of_its_slot_leaves_none_of_them_active(app, make_city):
    town = make_city("blockrace", locale="en", timezone="Asia/Shanghai")
    enable(app, town)
    place = set_up_hospital(app, town, capacity=10)
    day = tomorrow()
    starts_at = local(day, 9)
    early = book(app, town, new_citizen(app, town), place.department, starts_at, place.doctor)
    citizens = [new_citizen(app, town) for _ in range(8)]

    def block_the_slot():
        with tenant_context(town, app):
            cancelled = booking.block(db.session.get(Department, place.department),
                                      place.doctor, day, starts_at, "Broken scanner", "staff")
            db.session.commit()
            return {a.reference for a in cancelled}

    outcomes = together([block_the_slot, *(
        partial(book, app, town, citizen, place.department, starts_at, place.doctor)
        for citizen in citizens)])
    cancelled_by_block, booking_outcomes = outcomes[0], outcomes[1:]
    succeeded = {early} | {o for o in booking_outcomes if isinstance(o, str)}
    assert all(isinstance(o, str | booking.SlotFull | booking.SlotUnavailable)
               for o in booking_outcomes)
    assert cancelled_by_block == succeeded
    for reference in succeeded:
        row = appointment(app, town, reference)
        assert (row.status, row.cancelled_by) == ("cancelled", "hospital")
        with tenant_context(town, app):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
                Notification.user_id == row.user_id,
                Notification.event == "appointment_cancelled_by_hospital")) == 1
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.starts_at == starts_at, Appointment.status == "booked")) == 0
        counter = db.session.scalars(sa.select(Slot).where(
            Slot.schedule_id == place.doctor_schedule, Slot.starts_at == starts_at)).one()
        assert (counter.booked, counter.blocked) == (0, True)
