"""Hospital appointments, at the level of the module's code: which slots are bookable, the
booking lifecycle, the anti-scalping rules and the cut-off, blocks, reminders, figures."""
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app import crypto
from app.accounts.models import User
from app.audit.models import AuditEntry
from app.modules.appointments import booking, figures
from app.modules.appointments.booking import Patient
from app.modules.appointments.models import (
    Appointment,
    Closure,
    Department,
    Doctor,
    Hospital,
    Schedule,
    Slot,
    SlotBlock,
)
from app.modules.appointments.slots import OpenSlot, bookable_slots, schedule_slots
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tenants.jobs import DECLARED
from tests.conftest import run_worker
from tests.support.cities import audit_entries, configure_city

ZONE = ZoneInfo("Asia/Shanghai")
ID_NUMBER = "11010519491231002X"  # a valid sample number


def patient_id(number: int) -> str:
    """A valid ID card number of its own for each `number` (a patient per citizen)."""
    from app.modules.appointments.forms import ID_CHECK, ID_WEIGHTS

    base = f"11010519491231{number % 1000:03d}"
    return base + ID_CHECK[sum(int(d) * w for d, w in zip(base, ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class Place:
    """The ids of a hospital set up for a test."""
    hospital: int
    department: int
    other_department: int
    doctor: int
    other_doctor: int
    doctor_schedule: int
    department_schedule: int


def enable(app, tenant, **settings):
    configure_city(app, tenant, enable=["appointments"],
                   values={"appointments": settings} if settings else None)


def set_up_hospital(app, tenant, capacity=3) -> Place:
    """A hospital open every day: doctor A 08:00-12:00 (30-minute slots of `capacity`), the
    department's own hours 14:00-15:00 (one slot, 2 places), and a second department."""
    with tenant_context(tenant, app):
        hospital = Hospital(name="City Hospital", name_zh="市医院")
        department = Department(hospital=hospital, name="Cardiology", name_zh="心内科")
        other = Department(hospital=hospital, name="Dermatology", name_zh="皮肤科")
        doctor = Doctor(department=department, name="Dr Li", name_zh="李医生")
        other_doctor = Doctor(department=department, name="Dr Wang", name_zh="王医生")
        db.session.add_all([hospital, department, other, doctor, other_doctor])
        db.session.flush()
        schedules = []
        for weekday in range(7):
            schedules += [
                Schedule(department_id=department.id, doctor_id=doctor.id, weekday=weekday,
                         start_time=time(8), end_time=time(12), slot_minutes=30,
                         capacity=capacity),
                Schedule(department_id=department.id, weekday=weekday, start_time=time(14),
                         end_time=time(15), slot_minutes=60, capacity=2),
                Schedule(department_id=other.id, weekday=weekday, start_time=time(8),
                         end_time=time(12), slot_minutes=60, capacity=5)]
        db.session.add_all(schedules)
        db.session.commit()
        # The tests book tomorrow: name the schedules of tomorrow's weekday.
        doctor_hours = 3 * tomorrow().weekday()
        return Place(hospital.id, department.id, other.id, doctor.id, other_doctor.id,
                     schedules[doctor_hours].id, schedules[doctor_hours + 1].id)


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("clinic", locale="en", timezone="Asia/Shanghai")
    enable(app, tenant)
    return tenant


@pytest.fixture()
def place(app, town) -> Place:
    return set_up_hospital(app, town)


def new_citizen(app, tenant, **fields) -> int:
    with tenant_context(tenant, app):
        user = User(email=fields.pop("email", f"c-{uuid.uuid4().hex[:8]}@example.com"),
                    display_name="Zhang San", **{"locale": "en", **fields})
        db.session.add(user)
        db.session.commit()
        return user.id


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def tomorrow() -> date:
    return datetime.now(ZONE).date() + timedelta(days=1)


def book(app, tenant, user_id, department_id, starts_at, doctor_id=None, id_number=None):
    """Book and commit (for the citizen's own patient, patient_id(user_id), unless told);
    the appointment's reference, or the refusal (raised)."""
    with tenant_context(tenant, app):
        user = db.session.get(User, user_id)
        try:
            appointment = booking.book(user, db.session.get(Department, department_id),
                                       doctor_id, starts_at,
                                       Patient("Zhang San", id_number or patient_id(user_id),
                                               "13812345678"),
                                       f"user:{user_id}:")
        except booking.AppointmentError:
            db.session.rollback()
            raise
        db.session.commit()
        return appointment.reference


def appointment(app, tenant, reference) -> Appointment:
    with tenant_context(tenant, app):
        return db.session.scalars(sa.select(Appointment).where(
            Appointment.reference == reference)).one()


def booked_places(app, tenant, schedule_id, starts_at) -> int:
    with tenant_context(tenant, app):
        return db.session.scalar(sa.select(Slot.booked).where(
            Slot.schedule_id == schedule_id, Slot.starts_at == starts_at)) or 0


def events(app, tenant, user_id) -> list[str]:
    with tenant_context(tenant, app):
        return db.session.scalars(sa.select(Notification.event).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()


def change(app, tenant, reference, action, *args):
    with tenant_context(tenant, app):
        row = db.session.scalars(sa.select(Appointment).where(
            Appointment.reference == reference)).one()
        try:
            result = getattr(booking, action)(row, *args, "test")
        except booking.AppointmentError:
            db.session.rollback()
            raise
        db.session.commit()
        return getattr(result, "reference", None)


def start_in(app, tenant, reference, delta: timedelta):
    """Move an appointment's time (as if time had passed) without touching its slot."""
    with tenant_context(tenant, app):
        db.session.execute(sa.update(Appointment).where(Appointment.reference == reference)
                           .values(starts_at=datetime.now(UTC) + delta))
        db.session.commit()


# -- slots -----------------------------------------------------------------------------------------

def test_schedule_slots_are_local_times_of_the_city():
    monday = date(2026, 11, 30)
    schedule = Schedule(id=1, department_id=1, doctor_id=None, weekday=0, start_time=time(8),
                        end_time=time(9, 10), slot_minutes=20, capacity=2,
                        valid_from=monday, valid_to=monday + timedelta(days=6))
    slots = list(schedule_slots([schedule], monday, monday + timedelta(days=13), ZONE))
    # 08:00, 08:20, 08:40 (09:00 would end after 09:10); the next Monday is past valid_to.
    assert [s.starts_at.astimezone(UTC).strftime("%d %H:%M") for s in slots] == [
        "30 00:00", "30 00:20", "30 00:40"]
    assert {s.capacity for s in slots} == {2}


def test_bookable_slots_follow_the_horizon_closures_and_blocks(app, town, place):
    enable(app, town, horizon_days=3)
    day = tomorrow()
    with tenant_context(town, app):
        department = db.session.get(Department, place.department)
        days = {s.starts_at.date() for s in bookable_slots(department, 3)}
        assert max(days) == day + timedelta(days=1)  # today, tomorrow, the day after
        assert all(s.starts_at > datetime.now(UTC) for s in bookable_slots(department, 3))
        on_day = bookable_slots(department, 3, day=day)
        assert [s.starts_at.hour for s in on_day] == [8, 8, 9, 9, 10, 10, 11, 11, 14]
        assert on_day[0].starts_at == local(day, 8)
        assert bookable_slots(department, 3, day=day + timedelta(days=3)) == []
        # a closure of the doctor takes only the doctor's hours of that day away
        db.session.add(Closure(hospital_id=place.hospital, department_id=place.department,
                               doctor_id=place.doctor, first_day=day, last_day=day,
                               reason="Training"))
        db.session.flush()
        assert [s.starts_at.hour for s in bookable_slots(department, 3, day=day)] == [14]
        # a block of one slot of the department
        booking.block(department, None, day, local(day, 14), "Broken machine", "test")
        assert bookable_slots(department, 3, day=day) == []
        # a closure of the whole hospital takes the next day away
        db.session.add(Closure(hospital_id=place.hospital, first_day=day + timedelta(days=1),
                               last_day=day + timedelta(days=9), reason="Holiday"))
        db.session.flush()
        assert bookable_slots(department, 3, day=day + timedelta(days=1)) == []
        db.session.rollback()


# -- the lifecycle ---------------------------------------------------------------------------------

def test_booking_takes_a_place_stores_the_id_number_encrypted_and_notifies(app, town, place):
    citizen = new_citizen(app, town)
    starts_at = local(tomorrow(), 9)
    reference = book(app, town, citizen, place.department, starts_at, place.doctor,
                     id_number=ID_NUMBER)
    row = appointment(app, town, reference)
    assert row.status == "booked" and row.starts_at == starts_at
    assert row.doctor_id == place.doctor and booking.normalize_reference(reference) == reference
    assert ID_NUMBER not in row.id_number_encrypted and row.masked_id_number.endswith("002X")
    with app.app_context():
        assert crypto.decrypt(row.id_number_encrypted) == ID_NUMBER
    assert booked_places(app, town, place.doctor_schedule, starts_at) == 1
    assert events(app, town, citizen) == ["appointment_booked"]
    with tenant_context(town, app):
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "appointments.book")).one()
        assert entry.target == reference and entry.after["id_number"].endswith("002X")
        assert ID_NUMBER not in str(entry.after)


def test_cancel_gives_the_place_back_once(app, town, place):
    citizen = new_citizen(app, town)
    starts_at = local(tomorrow(), 9)
    reference = book(app, town, citizen, place.department, starts_at, place.doctor)
    change(app, town, reference, "cancel")
    row = appointment(app, town, reference)
    assert (row.status, row.cancelled_by) == ("cancelled", "citizen") and row.cancelled_at
    assert booked_places(app, town, place.doctor_schedule, starts_at) == 0
    with pytest.raises(booking.WrongState):
        change(app, town, reference, "cancel")
    assert booked_places(app, town, place.doctor_schedule, starts_at) == 0
    assert events(app, town, citizen) == ["appointment_booked", "appointment_cancelled"]


def test_moving_takes_the_new_place_and_gives_the_old_one_back(app, town, place):
    citizen = new_citizen(app, town)
    old_start, new_start = local(tomorrow(), 9), local(tomorrow(), 10, 30)
    reference = book(app, town, citizen, place.department, old_start, place.doctor)
    new_reference = change(app, town, reference, "move", new_start)
    old, new = appointment(app, town, reference), appointment(app, town, new_reference)
    assert (old.status, old.moved_to_id) == ("moved", new.id) and old.moved_at
    assert (new.status, new.starts_at, new.doctor_id) == ("booked", new_start, place.doctor)
    assert booked_places(app, town, place.doctor_schedule, old_start) == 0
    assert booked_places(app, town, place.doctor_schedule, new_start) == 1
    assert events(app, town, citizen)[-1] == "appointment_moved"


def test_moving_to_a_full_slot_changes_nothing(app, town, make_city):
    place = set_up_hospital(app, town, capacity=1)
    first, second = new_citizen(app, town), new_citizen(app, town)
    taken, mine = local(tomorrow(), 8), local(tomorrow(), 11)
    book(app, town, first, place.department, taken, place.doctor)
    reference = book(app, town, second, place.department, mine, place.doctor)
    with pytest.raises(booking.SlotFull):
        change(app, town, reference, "move", taken)
    assert appointment(app, town, reference).status == "booked"
    assert booked_places(app, town, place.doctor_schedule, mine) == 1
    assert booked_places(app, town, place.doctor_schedule, taken) == 1


def test_a_time_outside_the_schedule_or_horizon_cannot_be_booked(app, town, place):
    citizen = new_citizen(app, town)
    for starts_at in (local(tomorrow(), 8, 10), local(tomorrow(), 13),
                      local(tomorrow() + timedelta(days=30), 8)):
        with pytest.raises(booking.SlotUnavailable):
            book(app, town, citizen, place.department, starts_at, place.doctor)
    with pytest.raises(booking.SlotUnavailable):  # Dr Wang has no hours of his own
        book(app, town, citizen, place.department, local(tomorrow(), 8), place.other_doctor)


def test_any_doctor_takes_a_free_place_of_any_schedule(app, town, place):
    citizen = new_citizen(app, town)
    reference = book(app, town, citizen, place.department, local(tomorrow(), 14))
    row = appointment(app, town, reference)
    assert row.doctor_id is None
    assert booked_places(app, town, place.department_schedule, local(tomorrow(), 14)) == 1


# -- anti-scalping and cut-off -------------------------------------------------------------------

def test_at_most_n_upcoming_bookings_and_one_per_department_and_day(app, town, place):
    enable(app, town, max_active_per_citizen=2)
    citizen = new_citizen(app, town)
    day = tomorrow()
    book(app, town, citizen, place.department, local(day, 8), place.doctor)
    with pytest.raises(booking.SameDepartmentDay):
        book(app, town, citizen, place.department, local(day, 9), place.doctor)
    book(app, town, citizen, place.other_department, local(day, 9))
    with pytest.raises(booking.TooManyBookings):
        book(app, town, citizen, place.department, local(day + timedelta(days=1), 8),
             place.doctor)
    enable(app, town, one_per_department_per_day=False, max_active_per_citizen=5)
    book(app, town, citizen, place.department, local(day, 9), place.doctor)


def test_cancel_and_move_close_at_the_cut_off(app, town, place):
    enable(app, town, cutoff_hours=48)
    citizen = new_citizen(app, town)
    reference = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    with pytest.raises(booking.PastCutoff):
        change(app, town, reference, "cancel")
    with pytest.raises(booking.PastCutoff):
        change(app, town, reference, "move", local(tomorrow(), 10))
    assert appointment(app, town, reference).status == "booked"
    enable(app, town, cutoff_hours=1)
    change(app, town, reference, "cancel")


# -- staff -----------------------------------------------------------------------------------------

def test_check_in_on_the_day_and_no_show_once_it_has_begun(app, town, place):
    citizen = new_citizen(app, town)
    first = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    second = book(app, town, citizen, place.other_department, local(tomorrow(), 9))
    with pytest.raises(booking.WrongState, match="not for today"):
        change(app, town, first, "check_in")
    with pytest.raises(booking.WrongState, match="not begun"):
        change(app, town, first, "mark_no_show")
    start_in(app, town, first, timedelta(seconds=0))
    start_in(app, town, second, -timedelta(minutes=20))
    change(app, town, first, "check_in")
    change(app, town, second, "mark_no_show")
    assert appointment(app, town, first).status == "checked_in"
    assert appointment(app, town, second).status == "no_show"
    with pytest.raises(booking.WrongState):
        change(app, town, first, "cancel")


def test_a_blocked_day_cancels_its_bookings_and_notifies_in_one_transaction(app, town, place):
    citizen, other = new_citizen(app, town), new_citizen(app, town)
    day = tomorrow()
    blocked = book(app, town, citizen, place.department, local(day, 9), place.doctor)
    kept = book(app, town, other, place.other_department, local(day, 9))
    with tenant_context(town, app):
        cancelled = booking.block(db.session.get(Department, place.department), place.doctor,
                                  day, None, "Doctor ill", "staff")
        assert [a.reference for a in cancelled] == [blocked]
        db.session.rollback()  # nothing of it stays: no block, no cancellation, no message
    assert appointment(app, town, blocked).status == "booked"
    assert events(app, town, citizen) == ["appointment_booked"]
    with tenant_context(town, app):
        booking.block(db.session.get(Department, place.department), place.doctor, day, None,
                      "Doctor ill", "staff")
        db.session.commit()
    row = appointment(app, town, blocked)
    assert (row.status, row.cancelled_by) == ("cancelled", "hospital")
    assert appointment(app, town, kept).status == "booked"
    assert events(app, town, citizen)[-1] == "appointment_cancelled_by_hospital"
    assert booked_places(app, town, place.doctor_schedule, local(day, 9)) == 0
    with pytest.raises(booking.SlotUnavailable):
        book(app, town, other, place.department, local(day, 9), place.doctor)
    with tenant_context(town, app):  # a booking that saw the slot before the block: refused
        assert booking._take_place(OpenSlot(place.doctor_schedule, place.department,
                                            place.doctor, local(day, 9), local(day, 9, 30),
                                            3)) is None
    with tenant_context(town, app):
        body = db.session.scalars(sa.select(Notification.body).where(
            Notification.event == "appointment_cancelled_by_hospital")).one()
        assert "Doctor ill" in body and blocked in body


def test_blocking_a_time_that_starts_no_slot_is_refused(app, town, place):
    day = tomorrow()
    with tenant_context(town, app):
        department = db.session.get(Department, place.department)
        for doctor, starts_at in ((place.doctor, local(day, 9, 10)),  # inside a slot
                                  (place.doctor, local(day, 14))):  # the department's hours
            with pytest.raises(booking.NoSuchSlot):
                booking.block(department, doctor, day, starts_at, "Broken machine", "staff")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SlotBlock)) == 0
        booking.block(department, None, day, local(day, 14), "Broken machine", "staff")
        db.session.rollback()


def test_unblocking_reopens_the_time_but_not_the_cancelled_bookings(app, town, place):
    day = tomorrow()
    cancelled = book(app, town, new_citizen(app, town), place.department, local(day, 9),
                     place.doctor)
    with tenant_context(town, app):
        department = db.session.get(Department, place.department)
        booking.block(department, place.doctor, day, local(day, 9), "Broken machine", "staff")
        booking.block(department, None, day, None, "Flooding", "staff")
        db.session.commit()
        slot_block, day_block = db.session.scalars(
            sa.select(SlotBlock).order_by(SlotBlock.id)).all()
        booking.unblock(day_block, "staff")
        db.session.commit()
        starts = {s.starts_at for s in bookable_slots(department, 7, day=day)}
        assert local(day, 9) not in starts  # the slot's own block holds
        assert {local(day, 8), local(day, 9, 30), local(day, 14)} <= starts
    with pytest.raises(booking.SlotUnavailable):
        book(app, town, new_citizen(app, town), place.department, local(day, 9), place.doctor)
    with tenant_context(town, app):
        booking.unblock(db.session.get(SlotBlock, slot_block.id), "staff")
        db.session.commit()
    again = book(app, town, new_citizen(app, town), place.department, local(day, 9),
                 place.doctor)
    assert appointment(app, town, again).status == "booked"
    assert appointment(app, town, cancelled).status == "cancelled"
    assert booked_places(app, town, place.doctor_schedule, local(day, 9)) == 1
    unblocks = audit_entries(app, town, "appointments.unblock")
    assert [(e.before["reason"], e.after) for e in unblocks] == [("Flooding", None),
                                                                 ("Broken machine", None)]


def test_deleting_a_closure_reopens_its_days_except_where_another_covers_them(app, town,
                                                                                place):
    day = tomorrow()
    cancelled = book(app, town, new_citizen(app, town), place.department, local(day, 14))
    with tenant_context(town, app):
        holiday = Closure(hospital_id=place.hospital, first_day=day,
                          last_day=day + timedelta(days=1), reason="Holiday")
        booking.close(holiday, "staff")
        booking.close(Closure(hospital_id=place.hospital, department_id=place.department,
                              doctor_id=place.doctor, first_day=day, last_day=day,
                              reason="Training"), "staff")
        db.session.commit()
        booking.delete_closure(holiday, "staff")
        db.session.commit()
        department = db.session.get(Department, place.department)
        assert [s.starts_at.hour for s in bookable_slots(department, 7, day=day)] == [14]
        assert db.session.scalar(sa.select(Slot.blocked).where(
            Slot.schedule_id == place.doctor_schedule, Slot.starts_at == local(day, 8)))
    assert appointment(app, town, cancelled).status == "cancelled"
    assert book(app, town, new_citizen(app, town), place.department, local(day, 14))
    with pytest.raises(booking.SlotUnavailable):
        book(app, town, new_citizen(app, town), place.department, local(day, 8), place.doctor)
    [entry] = audit_entries(app, town, "appointments.closure_delete")
    assert entry.before["reason"] == "Holiday" and entry.after is None


def test_a_closure_cancels_the_bookings_it_covers(app, town, place):
    citizen = new_citizen(app, town)
    reference = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    with tenant_context(town, app):
        cancelled = booking.close(Closure(hospital_id=place.hospital, first_day=tomorrow(),
                                          last_day=tomorrow(), reason="Holiday"), "staff")
        assert [a.reference for a in cancelled] == [reference]
        db.session.commit()
    assert appointment(app, town, reference).status == "cancelled"


def test_a_lower_capacity_never_goes_below_the_places_taken(app, town):
    place = set_up_hospital(app, town, capacity=3)
    starts_at = local(tomorrow(), 9)
    for _ in range(2):
        book(app, town, new_citizen(app, town), place.department, starts_at, place.doctor)
    with tenant_context(town, app):
        schedule = db.session.get(Schedule, place.doctor_schedule)
        schedule.capacity = 1
        booking.schedule_changed(schedule)
        db.session.commit()
        assert db.session.scalar(sa.select(Slot.capacity).where(
            Slot.schedule_id == schedule.id, Slot.starts_at == starts_at)) == 2
    with pytest.raises(booking.SlotFull):
        book(app, town, new_citizen(app, town), place.department, starts_at, place.doctor)


# -- reminders -------------------------------------------------------------------------------------

def remind_all() -> int:
    """The platform's sweep that the module's Periodic declares (appointments.remind_all)."""
    return DECLARED["appointments.remind_all"].function()


def reminders(app, tenant) -> list[Notification]:
    with tenant_context(tenant, app):
        return db.session.scalars(sa.select(Notification).where(
            Notification.event == "appointment_reminder")).all()


def test_reminders_are_queued_once_by_the_periodic_job(app, town, place, outbox):
    enable(app, town, reminder_hours=72)
    citizen = new_citizen(app, town)
    soon = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    later = book(app, town, citizen, place.other_department,
                 local(tomorrow() + timedelta(days=5), 9))
    with app.app_context():
        assert remind_all() >= 1
    run_worker(app)  # the city's reminder job, then the delivery
    with app.app_context():
        remind_all()
    run_worker(app)
    sent = reminders(app, town)
    assert len(sent) == 1 and soon in sent[0].body and sent[0].status == "sent"
    assert appointment(app, town, soon).reminded_at is not None
    assert appointment(app, town, later).reminded_at is None
    assert any(soon in message.get_body().get_content() and "Reminder" in message["Subject"]
               for message in outbox(town.slug))


def test_two_workers_remind_once(app, town, place):
    enable(app, town, reminder_hours=72)
    for hour in (8, 9, 10):
        book(app, town, new_citizen(app, town), place.department, local(tomorrow(), hour),
             place.doctor)
    counts, barrier = [], threading.Barrier(2)

    def work():
        with tenant_context(town, app):
            barrier.wait()
            counts.append(booking.queue_reminders())
            db.session.commit()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both workers finished (an exception in a thread would only drop its count).
    assert len(counts) == 2 and sum(counts) == 3 and len(reminders(app, town)) == 3


def test_no_reminder_job_where_the_module_is_off(app, make_city):
    off = make_city("clinic-off")
    with app.app_context(), db.engine.connect() as connection:
        remind_all()
        assert connection.execute(sa.text(
            "SELECT count(*) FROM jobs.procrastinate_jobs WHERE task_name = "
            "'appointments.remind' AND args->>'city' = :city"), {"city": off.slug}).scalar() == 0


# -- figures ---------------------------------------------------------------------------------------

def test_the_dashboard_figures(app, town, place):
    day = tomorrow()
    first = book(app, town, new_citizen(app, town), place.department, local(day, 9),
                 place.doctor)
    book(app, town, new_citizen(app, town), place.department, local(day, 9), place.doctor)
    cancelled = book(app, town, new_citizen(app, town), place.department, local(day, 10),
                     place.doctor)
    change(app, town, cancelled, "cancel")
    start_in(app, town, first, timedelta(0))
    change(app, town, first, "check_in")
    with tenant_context(town, app):
        today = datetime.now(ZONE).date()
        per_day = figures.appointments_per_day(today, "Asia/Shanghai")
        assert sum(per_day.values()) == 2
        # the 09:00 slot has 2 of 3 places taken, the 10:00 one none of 3
        assert figures.utilisation_per_day(day, "Asia/Shanghai")[day] == (2, 6)
        assert figures.check_ins_today() == 1
