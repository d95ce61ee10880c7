"""Every change of an appointment, each in the caller's transaction together with its audit
entry and the citizen's notification (the caller commits, or rolls back on AppointmentError).

Capacity: a place is taken by `UPDATE appointment_slots SET booked = booked + 1 WHERE
booked < capacity AND NOT blocked`, on a counter row made by `INSERT … ON CONFLICT DO NOTHING`.
The UPDATE waits for the row lock of a concurrent booking and then re-checks its condition, so
the last place goes to one citizen only; the CHECK constraint backs it.

Anti-scalping: the limits count per patient (a keyed digest of the ID card number), whatever
the accounts booking for them. A booking takes transaction-level advisory locks on (city,
account) and then (city, patient), so two bookings for one patient at once can't both pass the
limits, and a repeated POST of one form (its idempotency key) finds the booking the first made.
A unique index refuses the same account holding the same slot twice, whatever the rules say.

Blocks and closures mark the affected counters `blocked` (taking their row locks) before
cancelling the appointments on them, so a booking that raced with the block either committed
first and is cancelled, or finds the slot blocked."""
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import insert

from app import crypto
from app.accounts.models import User
from app.audit import record
from app.city_time import city_day, city_today, city_zone
from app.i18n import TranslatedError
from app.modules import settings_of
from app.modules.appointments.models import (
    BOOKED,
    BY_CITIZEN,
    BY_HOSPITAL,
    CANCELLED,
    CHECKED_IN,
    MOVED,
    NO_SHOW,
    Appointment,
    Closure,
    Department,
    Schedule,
    Slot,
    SlotBlock,
)
from app.modules.appointments.slots import (
    OpenSlot,
    bookable_slots,
    day_bounds,
    horizon,
    schedule_slots,
    schedules_of,
)
from app.notifications import notify
from app.web.forms import INVALID_FORM
from app.web.links import external_url
from app.webhooks import publish
from tenants.context import current_tenant
from tenants.db import db

KEY = "appointments"
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
QR_PREFIX = "CIVIC-APPT"


class AppointmentError(TranslatedError):
    """A change that is refused; `message` says why, in the page's language."""
    message = _l("This can't be done.")
    status = 409


class SlotUnavailable(AppointmentError):
    message = _l("This time can't be booked (any more). Choose another one.")


class SlotFull(AppointmentError):
    message = _l("This slot is full. Choose another time.")


class TooManyBookings(AppointmentError):
    message = _l("You already hold the most upcoming appointments allowed. Cancel one to book "
                 "another.")


class SameDepartmentDay(AppointmentError):
    message = _l("You already have an appointment in this department on this day.")


class PastCutoff(AppointmentError):
    message = _l("It is too close to the appointment to change it online. Please call the "
                 "hospital.")


class AlreadyHolding(AppointmentError):
    message = _l("You already have an appointment at this time. See My appointments.")


class WrongState(AppointmentError):
    message = _l("This appointment can't be changed in its current state.")


class NoSuchSlot(AppointmentError):
    message = _l("No slot starts at this time on this day. Enter the start of a slot, or "
                 "leave the time empty to block the whole day.")
    status = INVALID_FORM


@dataclass(frozen=True)
class Patient:
    name: str
    id_number: str
    phone: str


def _now() -> datetime:
    return datetime.now(UTC)


def _snapshot(appointment: Appointment) -> dict:
    return {"reference": appointment.reference, "status": appointment.status,
            "starts_at": appointment.starts_at.isoformat(),
            "department_id": appointment.department_id, "doctor_id": appointment.doctor_id,
            "patient": appointment.patient_name, "id_number": appointment.masked_id_number}


def _publish(event_type: str, appointment: Appointment, **extra) -> None:
    """The webhook event of a booking or cancellation (no patient's name or ID number)."""
    publish(event_type, {
        "reference": appointment.reference, "status": appointment.status,
        "starts_at": appointment.starts_at.isoformat(),
        "department_id": appointment.department_id, "doctor_id": appointment.doctor_id,
        "cancelled_by": appointment.cancelled_by, **extra})


def _tell(event: str, appointment: Appointment, **context) -> None:
    """Tell the appointment's citizen `event`; the message links to the appointment's page."""
    notify(db.session.get(User, appointment.user_id), event, appointment=appointment,
           link=external_url("appointments.detail", reference=appointment.reference), **context)


def _lock_citizen(user_id: int) -> None:
    db.session.execute(sa.text(
        "SELECT pg_advisory_xact_lock(hashtext('civic:appointments:' || :city || ':' || :user))"),
        {"city": current_tenant().slug, "user": str(user_id)})


def _lock_patient(digest: str) -> None:
    """Taken after the account's lock (always in this order: no deadlock)."""
    db.session.execute(sa.text(
        "SELECT pg_advisory_xact_lock(hashtext('civic:appointments:patient:' || :city || ':' "
        "|| :patient))"), {"city": current_tenant().slug, "patient": digest})


def patient_digest(id_number: str) -> str:
    return crypto.keyed_digest(id_number.strip().upper(), "appointments patient")


def _locked(appointment: Appointment) -> Appointment:
    """The appointment's row, locked and read afresh (a concurrent change has committed)."""
    return db.session.scalars(sa.select(Appointment).where(Appointment.id == appointment.id)
                              .with_for_update().execution_options(populate_existing=True)).one()


def _take_place(slot: OpenSlot) -> int | None:
    """Take one place of the slot; its counter's id, or None when it is full or blocked."""
    db.session.execute(insert(Slot).values(
        schedule_id=slot.schedule_id, department_id=slot.department_id,
        doctor_id=slot.doctor_id, starts_at=slot.starts_at, capacity=slot.capacity, booked=0,
    ).on_conflict_do_nothing(constraint="uq_appointment_slots_start"))
    return db.session.scalar(sa.update(Slot).where(
        Slot.schedule_id == slot.schedule_id, Slot.starts_at == slot.starts_at,
        Slot.booked < Slot.capacity, sa.not_(Slot.blocked),
    ).values(booked=Slot.booked + 1).returning(Slot.id))


def _release_place(slot_id: int) -> None:
    db.session.execute(sa.update(Slot).where(Slot.id == slot_id).values(booked=Slot.booked - 1))


def _check_limits(user_id: int, digest: str | None, department_id: int, starts_at: datetime,
                  replacing: Appointment | None = None) -> None:
    """The city's anti-scalping limits, counted per patient (bookings from before patients
    were told apart count for their account)."""
    settings = settings_of(KEY)
    same_patient = (Appointment.patient_digest == digest) if digest else sa.false()
    same_patient = sa.or_(same_patient, sa.and_(Appointment.patient_digest.is_(None),
                                                Appointment.user_id == user_id))
    mine = sa.select(sa.func.count()).select_from(Appointment).where(
        same_patient, Appointment.status == BOOKED, Appointment.starts_at > _now())
    if replacing is not None:
        mine = mine.where(Appointment.id != replacing.id)
    if db.session.scalar(mine) >= settings["max_active_per_citizen"]:
        raise TooManyBookings()
    if settings["one_per_department_per_day"]:
        local_day = city_day(starts_at)
        start, end = day_bounds(local_day, local_day)
        same_day = sa.select(sa.func.count()).select_from(Appointment).where(
            same_patient, Appointment.department_id == department_id,
            Appointment.status.in_((BOOKED, CHECKED_IN)),
            Appointment.starts_at >= start, Appointment.starts_at < end)
        if replacing is not None:
            same_day = same_day.where(Appointment.id != replacing.id)
        if db.session.scalar(same_day):
            raise SameDepartmentDay()


def _claim(department: Department, doctor_id: int | None, starts_at: datetime
           ) -> tuple[OpenSlot, int]:
    """A place at `starts_at` with the doctor (any of the department's schedules when
    None): the slot and its counter's id. SlotUnavailable or SlotFull otherwise."""
    candidates = [slot for slot in bookable_slots(
        department, settings_of(KEY)["horizon_days"], doctor_id,
        city_day(starts_at)) if slot.starts_at == starts_at]
    if not candidates:
        raise SlotUnavailable()
    for slot in candidates:
        slot_id = _take_place(slot)
        if slot_id is not None:
            return slot, slot_id
    raise SlotFull()


def new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def normalize_reference(text: str) -> str | None:
    """The reference in a typed code or a scanned QR content ("CIVIC-APPT:<city>:<code>"),
    or None when it isn't one of this city's codes."""
    text = (text or "").strip().upper()
    if text.startswith(QR_PREFIX + ":"):
        _prefix, _sep, rest = text.partition(":")
        city, _sep, text = rest.partition(":")
        if city != current_tenant().slug.upper():
            return None
    code = "".join(ch for ch in text if ch.isalnum())
    if len(code) != 8 or any(ch not in REFERENCE_ALPHABET for ch in code):
        return None
    return f"{code[:4]}-{code[4:]}"


def qr_content(appointment: Appointment) -> str:
    return f"{QR_PREFIX}:{current_tenant().slug}:{appointment.reference}"


def _insert_with_reference(appointment: Appointment) -> None:
    """Save the appointment under a fresh reference (another on the very rare clash);
    AlreadyHolding when the account holds the slot already."""
    for _attempt in range(5):
        appointment.reference = new_reference()
        try:
            with db.session.begin_nested():
                db.session.add(appointment)
                db.session.flush()
            return
        except sa.exc.IntegrityError as error:
            constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
            if constraint in ("uq_appointments_citizen_slot", "uq_appointments_idempotency_key"):
                raise AlreadyHolding() from None
            if db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
                    Appointment.reference == appointment.reference)) == 0:
                raise
    raise RuntimeError("no free appointment reference after 5 attempts")


def book(user: User, department: Department, doctor_id: int | None, starts_at: datetime,
         patient: Patient, actor: str, idempotency_key: str | None = None) -> Appointment:
    """Book a place at `starts_at` in the department, with the doctor or any (None). The same
    `idempotency_key` (one per rendering of the booking form) again gives the booking it made,
    changing nothing."""
    _lock_citizen(user.id)
    if idempotency_key:
        made = db.session.scalar(sa.select(Appointment).where(
            Appointment.user_id == user.id, Appointment.idempotency_key == idempotency_key))
        if made is not None:
            return made
    digest = patient_digest(patient.id_number)
    _lock_patient(digest)
    _check_limits(user.id, digest, department.id, starts_at)
    slot, slot_id = _claim(department, doctor_id, starts_at)
    appointment = Appointment(
        user_id=user.id, slot_id=slot_id, department_id=department.id,
        doctor_id=slot.doctor_id, starts_at=slot.starts_at, patient_name=patient.name,
        id_number_encrypted=crypto.encrypt(patient.id_number),
        id_number_last4=patient.id_number[-4:], patient_digest=digest, phone=patient.phone,
        status=BOOKED, idempotency_key=idempotency_key)
    _insert_with_reference(appointment)
    record(actor, "appointments.book", appointment.reference, None, _snapshot(appointment))
    _tell("appointment_booked", appointment)
    _publish("booking.made", appointment)
    return appointment


def cutoff_passed(appointment: Appointment) -> bool:
    hours = settings_of(KEY)["cutoff_hours"]
    return _now() >= appointment.starts_at - timedelta(hours=hours)


def _citizen_may_change(appointment: Appointment) -> Appointment:
    appointment = _locked(appointment)
    if appointment.status != BOOKED:
        raise WrongState()
    if cutoff_passed(appointment):
        raise PastCutoff()
    return appointment


def _cancel(appointment: Appointment, by: str, actor: str, action: str, **extra) -> None:
    """Cancel a booked appointment the caller has locked: its place is free again; the change
    is audited (as `action`) and published."""
    before = _snapshot(appointment)
    appointment.status, appointment.cancelled_by = CANCELLED, by
    appointment.cancelled_at = _now()
    _release_place(appointment.slot_id)
    record(actor, action, appointment.reference, before, {**_snapshot(appointment), **extra})
    _publish("booking.cancelled", appointment, **extra)


def _lock_coming(*where) -> list[Appointment]:
    """The booked appointments still to come that match `where`, locked, read afresh."""
    return db.session.scalars(sa.select(Appointment).where(
        *where, Appointment.status == BOOKED, Appointment.starts_at > _now())
        .order_by(Appointment.id).with_for_update()
        .execution_options(populate_existing=True)).all()


def cancel(appointment: Appointment, actor: str) -> Appointment:
    """The citizen cancels, until the cut-off."""
    appointment = _citizen_may_change(appointment)
    _cancel(appointment, BY_CITIZEN, actor, "appointments.cancel")
    _tell("appointment_cancelled", appointment)
    return appointment


def cancel_for_closed_account(user: User, actor: str) -> list[Appointment]:
    """The citizen closes their account: every booking still to come is cancelled, cut-off or
    not, so its place goes to someone else (no message: the account keeps no address)."""
    cancelled = _lock_coming(Appointment.user_id == user.id)
    for appointment in cancelled:
        _cancel(appointment, BY_CITIZEN, actor, "appointments.cancel_on_account_closed")
    return cancelled


def move(appointment: Appointment, starts_at: datetime, actor: str) -> Appointment:
    """The citizen moves to another time of the same department and doctor (any doctor when
    the appointment has none), until the cut-off: the new place is taken and the old one
    given back in one transaction. Returns the new appointment (a new reference)."""
    _lock_citizen(appointment.user_id)
    if appointment.patient_digest:
        _lock_patient(appointment.patient_digest)
    old = _citizen_may_change(appointment)
    if starts_at == old.starts_at:
        raise SlotUnavailable()
    _check_limits(old.user_id, old.patient_digest, old.department_id, starts_at, replacing=old)
    slot, slot_id = _claim(old.department, old.doctor_id, starts_at)
    before = _snapshot(old)
    new = Appointment(
        user_id=old.user_id, slot_id=slot_id, department_id=old.department_id,
        doctor_id=slot.doctor_id, starts_at=slot.starts_at, patient_name=old.patient_name,
        id_number_encrypted=old.id_number_encrypted, id_number_last4=old.id_number_last4,
        patient_digest=old.patient_digest, phone=old.phone, status=BOOKED)
    _insert_with_reference(new)
    _release_place(old.slot_id)
    old.status, old.moved_at, old.moved_to_id = MOVED, _now(), new.id
    record(actor, "appointments.move", old.reference, before,
           {**_snapshot(old), "moved_to": _snapshot(new)})
    _tell("appointment_moved", new, previous=old)
    _publish("booking.cancelled", old, moved_to=new.reference)
    _publish("booking.made", new, moved_from=old.reference)
    return new


# -- staff --------------------------------------------------------------------------------------

def by_reference(reference: str) -> Appointment | None:
    return db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))


def check_in(appointment: Appointment, actor: str) -> Appointment:
    """At the desk, on the day of the appointment."""
    appointment = _locked(appointment)
    if appointment.status != BOOKED:
        raise WrongState()
    if city_day(appointment.starts_at) != city_today():
        raise WrongState(_l("This appointment is not for today."))
    before = _snapshot(appointment)
    appointment.status, appointment.checked_in_at = CHECKED_IN, _now()
    record(actor, "appointments.check_in", appointment.reference, before,
           _snapshot(appointment))
    return appointment


def mark_no_show(appointment: Appointment, actor: str) -> Appointment:
    """Once the slot has begun, a patient who did not come."""
    appointment = _locked(appointment)
    if appointment.status != BOOKED:
        raise WrongState()
    if appointment.starts_at > _now():
        raise WrongState(_l("The appointment has not begun yet."))
    before = _snapshot(appointment)
    appointment.status, appointment.no_show_at = NO_SHOW, _now()
    record(actor, "appointments.no_show", appointment.reference, before,
           _snapshot(appointment))
    return appointment


def _seal(schedules: list[Schedule], first_day: date, last_day: date,
          starts_at: datetime | None = None) -> list[int]:
    """Mark blocked the counters of the schedules' slots on those days (of the one slot at
    `starts_at` when given), making the ones that don't exist yet; returns their ids."""
    if not schedules:
        return []
    zone = city_zone()
    today, last_bookable = horizon(settings_of(KEY)["horizon_days"])
    ids = set()
    # Slots not booked yet but bookable: counters made blocked, so a booking racing with this
    # change waits for it and then finds the slot blocked.
    for slot in schedule_slots(schedules, max(first_day, today), min(last_day, last_bookable),
                               zone):
        if starts_at is None or slot.starts_at == starts_at:
            ids.add(db.session.scalar(insert(Slot).values(
                schedule_id=slot.schedule_id, department_id=slot.department_id,
                doctor_id=slot.doctor_id, starts_at=slot.starts_at, capacity=slot.capacity,
                booked=0, blocked=True,
            ).on_conflict_do_update(constraint="uq_appointment_slots_start",
                                    set_={"blocked": True}).returning(Slot.id)))
    start, end = day_bounds(first_day, last_day)
    existing = sa.update(Slot).where(Slot.schedule_id.in_([s.id for s in schedules]),
                                     Slot.starts_at >= start, Slot.starts_at < end)
    if starts_at is not None:
        existing = existing.where(Slot.starts_at == starts_at)
    ids.update(db.session.scalars(existing.values(blocked=True).returning(Slot.id)))
    return sorted(ids)


def _cancel_for_hospital(slot_ids: list[int], cause: Closure | SlotBlock,
                         actor: str) -> list[Appointment]:
    """Cancel the booked appointments on those counters; each citizen is told why (the
    closure's or block's reason, in their language)."""
    if not slot_ids:
        return []
    cancelled = _lock_coming(Appointment.slot_id.in_(slot_ids))
    for appointment in cancelled:
        reasons = {"reason": cause.reason, "reason_zh": cause.reason_zh}
        _cancel(appointment, BY_HOSPITAL, actor, "appointments.cancel_by_hospital", **reasons)
        _tell("appointment_cancelled_by_hospital", appointment, cause=cause)
    return cancelled


def block(department: Department, doctor_id: int | None, day: date,
          starts_at: datetime | None, reason: str, actor: str,
          reason_zh: str = "") -> list[Appointment]:
    """Take a slot (or the whole day) out of the department's (or the doctor's) schedule;
    the booked appointments on it are cancelled and their citizens told why (`reason` in
    English, `reason_zh` in Chinese: at least one). Returns them."""
    schedules = schedules_of(department.id, doctor_id)
    if starts_at is not None and not any(
            slot.starts_at == starts_at
            for slot in schedule_slots(schedules, day, day, city_zone())):
        raise NoSuchSlot()
    entry = SlotBlock(department_id=department.id, doctor_id=doctor_id, day=day,
                      starts_at=starts_at, reason=reason, reason_zh=reason_zh,
                      created_by=actor)
    db.session.add(entry)
    db.session.flush()
    cancelled = _cancel_for_hospital(_seal(schedules, day, day, starts_at), entry, actor)
    record(actor, "appointments.block", str(entry.id), None, {
        **_block_snapshot(entry), "cancelled": [a.reference for a in cancelled]})
    return cancelled


def close(closure: Closure, actor: str) -> list[Appointment]:
    """Add a closure; the booked appointments it covers are cancelled and their citizens
    told. Returns them."""
    db.session.add(closure)
    db.session.flush()
    cancelled = _cancel_for_hospital(
        _seal(_closure_schedules(closure), closure.first_day, closure.last_day),
        closure, actor)
    record(actor, "appointments.closure", str(closure.id), None, {
        **_closure_snapshot(closure), "cancelled": [a.reference for a in cancelled]})
    return cancelled


def _closure_schedules(closure: Closure) -> list[Schedule]:
    query = sa.select(Schedule).join(Department).where(
        Department.hospital_id == closure.hospital_id)
    if closure.department_id is not None:
        query = query.where(Schedule.department_id == closure.department_id)
    if closure.doctor_id is not None:
        query = query.where(Schedule.doctor_id == closure.doctor_id)
    return db.session.scalars(query).all()


def _reopen(schedules: list[Schedule], first_day: date, last_day: date,
            hospital_id: int) -> None:
    """After a block or closure is removed: the counters it covered are bookable again,
    except where another block or closure of the hospital still covers them. Cancelled
    appointments stay cancelled."""
    if not schedules:
        return
    start, end = day_bounds(first_day, last_day)
    db.session.execute(sa.update(Slot).where(
        Slot.schedule_id.in_([s.id for s in schedules]), Slot.starts_at >= start,
        Slot.starts_at < end).values(blocked=False))
    for closure in db.session.scalars(sa.select(Closure).where(
            Closure.hospital_id == hospital_id, Closure.first_day <= last_day,
            Closure.last_day >= first_day)):
        _seal(_closure_schedules(closure), max(closure.first_day, first_day),
              min(closure.last_day, last_day))
    for entry in db.session.scalars(sa.select(SlotBlock).join(
            Department, SlotBlock.department_id == Department.id).where(
            Department.hospital_id == hospital_id, SlotBlock.day.between(first_day, last_day))):
        _seal(schedules_of(entry.department_id, entry.doctor_id), entry.day, entry.day,
              entry.starts_at)


def row_snapshot(row, fields) -> dict:
    """The fields of a row as the audit log keeps them (dates and times as ISO text)."""
    values = {name: getattr(row, name) for name in fields}
    return {name: value.isoformat() if isinstance(value, date | time | datetime) else value
            for name, value in values.items()}


def _block_snapshot(entry: SlotBlock) -> dict:
    return row_snapshot(entry, ("department_id", "doctor_id", "day", "starts_at", "reason",
                                "reason_zh"))


def _closure_snapshot(closure: Closure) -> dict:
    return row_snapshot(closure, ("hospital_id", "department_id", "doctor_id", "first_day",
                                  "last_day", "reason", "reason_zh"))


def unblock(entry: SlotBlock, actor: str) -> None:
    """Remove a block: its time can be booked again (unless closed or blocked otherwise)."""
    before = _block_snapshot(entry)
    db.session.delete(entry)
    db.session.flush()
    _reopen(schedules_of(entry.department_id, entry.doctor_id), entry.day, entry.day,
            db.session.get(Department, entry.department_id).hospital_id)
    record(actor, "appointments.unblock", str(entry.id), before, None)


def delete_closure(closure: Closure, actor: str) -> None:
    """Remove a closure: its days can be booked again (unless closed or blocked otherwise)."""
    before = _closure_snapshot(closure)
    schedules = _closure_schedules(closure)
    db.session.delete(closure)
    db.session.flush()
    _reopen(schedules, closure.first_day, closure.last_day, closure.hospital_id)
    record(actor, "appointments.closure_delete", str(closure.id), before, None)


def schedule_changed(schedule: Schedule) -> None:
    """After a schedule's capacity changed: its future counters follow (never below the
    places already taken)."""
    db.session.execute(sa.update(Slot).where(
        Slot.schedule_id == schedule.id, Slot.starts_at > _now(),
    ).values(capacity=sa.func.greatest(schedule.capacity, Slot.booked)))


# -- reminders ------------------------------------------------------------------------------------

def queue_reminders() -> int:
    """Queue a reminder for each booked appointment that begins within the city's reminder
    lead time and has none yet; returns how many. Rows another worker is reminding are
    skipped, and `reminded_at` is set in the same transaction as the notification, so each
    appointment is reminded once."""
    lead = timedelta(hours=settings_of(KEY)["reminder_hours"])
    now = _now()
    due = db.session.scalars(sa.select(Appointment).where(
        Appointment.status == BOOKED, Appointment.reminded_at.is_(None),
        Appointment.starts_at > now, Appointment.starts_at <= now + lead,
    ).order_by(Appointment.id).with_for_update(skip_locked=True)).all()
    for appointment in due:
        appointment.reminded_at = now
        _tell("appointment_reminder", appointment)
    return len(due)
