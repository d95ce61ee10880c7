"""Hospital appointments: the city's hospitals, departments, doctors and weekly schedules, the
closures and blocks that take time out of them, the slot counters, and the appointments.

Capacity is kept by the database: every slot that has ever been booked or blocked has a row in
`appointment_slots` whose `booked` counter only changes by conditional UPDATEs (`booked <
capacity AND NOT blocked`) and whose CHECK constraint refuses `booked > capacity`, so two
citizens taking the last place at once can't both succeed (see booking.py)."""
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.web.bilingual import bilingual
from tenants.db import db

BOOKED, CANCELLED, CHECKED_IN, NO_SHOW, MOVED = (
    "booked", "cancelled", "checked_in", "no_show", "moved")
STATUSES = (BOOKED, CANCELLED, CHECKED_IN, NO_SHOW, MOVED)
HOLDING = (BOOKED, CHECKED_IN, NO_SHOW)  # appointments that hold their slot's place
BY_CITIZEN, BY_HOSPITAL = "citizen", "hospital"


def _id() -> Mapped[int]:
    return mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)


class _Named:
    """A name in both languages, shown in the page's language (the other one as fallback)."""

    name: Mapped[str]
    name_zh: Mapped[str]

    name_for = bilingual("name")


class Hospital(_Named, db.Model):
    __tablename__ = "appointment_hospitals"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    address_zh: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    departments: Mapped[list["Department"]] = relationship(
        back_populates="hospital", order_by="Department.id")

    @property
    def open_departments(self) -> list["Department"]:
        return [department for department in self.departments if department.active]

    address_for = bilingual("address")


class Department(_Named, db.Model):
    __tablename__ = "appointment_departments"

    id: Mapped[int] = _id()
    hospital_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment_hospitals.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    hospital: Mapped[Hospital] = relationship(back_populates="departments")
    doctors: Mapped[list["Doctor"]] = relationship(
        back_populates="department", order_by="Doctor.id")

    @property
    def active_doctors(self) -> list["Doctor"]:
        return [doctor for doctor in self.doctors if doctor.active]


class Doctor(_Named, db.Model):
    __tablename__ = "appointment_doctors"

    id: Mapped[int] = _id()
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment_departments.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    title: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    title_zh: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")

    department: Mapped[Department] = relationship(back_populates="doctors")

    title_for = bilingual("title")


class Schedule(db.Model):
    """Weekly consulting hours of a doctor, or of the department as a whole (no doctor: "any
    doctor of the department"): on `weekday` (0 = Monday) from `start_time` to `end_time`,
    slots of `slot_minutes` with `capacity` patients each, between `valid_from` and
    `valid_to` (inclusive, open where unset). Times are the city's local times."""

    __tablename__ = "appointment_schedules"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("start_time < end_time", name="hours"),
        sa.CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes"),
        sa.CheckConstraint("capacity BETWEEN 1 AND 1000", name="capacity"),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to",
                           name="validity"),
    )

    id: Mapped[int] = _id()
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment_departments.id"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment_doctors.id"), index=True)
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    start_time: Mapped[time] = mapped_column(sa.Time)
    end_time: Mapped[time] = mapped_column(sa.Time)
    slot_minutes: Mapped[int] = mapped_column(sa.SmallInteger)
    capacity: Mapped[int] = mapped_column(sa.Integer)
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)

    department: Mapped[Department] = relationship()
    doctor: Mapped[Doctor | None] = relationship()


class Closure(db.Model):
    """Days without consultations (holidays): the whole hospital, or one of its departments,
    or one doctor, from `first_day` to `last_day` inclusive."""

    __tablename__ = "appointment_closures"
    __table_args__ = (
        sa.CheckConstraint("first_day <= last_day", name="days"),
        sa.Index("ix_appointment_closures_days", "last_day", "first_day"),
    )

    id: Mapped[int] = _id()
    hospital_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment_hospitals.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment_departments.id"))
    doctor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_doctors.id"))
    first_day: Mapped[date] = mapped_column(sa.Date)
    last_day: Mapped[date] = mapped_column(sa.Date)
    # told to the citizens whose appointments it cancels, in their language
    reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    reason_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    hospital: Mapped[Hospital] = relationship()
    department: Mapped[Department | None] = relationship()
    doctor: Mapped[Doctor | None] = relationship()

    reason_for = bilingual("reason")


class SlotBlock(db.Model):
    """Staff took one slot (`starts_at`) or a whole day (`starts_at` unset) out of a
    department's schedule, or only out of one doctor's."""

    __tablename__ = "appointment_blocks"
    __table_args__ = (sa.Index("ix_appointment_blocks_day", "day"),)

    id: Mapped[int] = _id()
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment_departments.id"))
    doctor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_doctors.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    starts_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # told to the citizens whose appointments it cancels, in their language
    reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_by: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    reason_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    department: Mapped[Department] = relationship()
    doctor: Mapped[Doctor | None] = relationship()

    reason_for = bilingual("reason")


class Slot(db.Model):
    """The counter of one slot of one schedule, made on its first booking or block. `booked`
    is the number of its appointments that hold a place (booked or checked in, or marked no-show);
    the database refuses more than `capacity`."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "starts_at", name="uq_appointment_slots_start"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="capacity"),
        sa.Index("ix_appointment_slots_starts_at", "starts_at"),
    )

    id: Mapped[int] = _id()
    schedule_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment_schedules.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment_departments.id"))
    doctor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_doctors.id"))
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(sa.Integer)
    booked: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    blocked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
        sa.CheckConstraint(f"cancelled_by IS NULL OR cancelled_by IN "
                           f"{(BY_CITIZEN, BY_HOSPITAL)}", name="cancelled_by"),
        sa.Index("ix_appointments_user", "user_id", "starts_at"),
        sa.Index("ix_appointments_starts_at", "starts_at"),
        sa.Index("ix_appointments_department_day", "department_id", "starts_at"),
        sa.Index("ix_appointments_checked_in_at", "checked_in_at",
                 postgresql_where=sa.text("checked_in_at IS NOT NULL")),
        sa.Index("ix_appointments_to_remind", "starts_at",
                 postgresql_where=sa.text("status = 'booked' AND reminded_at IS NULL")),
        # A citizen holds a slot once, whatever the rules and however often the form is sent.
        sa.Index("uq_appointments_citizen_slot", "user_id", "slot_id", unique=True,
                 postgresql_where=sa.text(f"status IN {HOLDING}")),
        # One booking per rendering of the booking form: a repeated POST finds it.
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_appointments_idempotency_key"),
        sa.Index("ix_appointments_patient", "patient_digest", "starts_at"),
        sa.Index("ix_appointments_booked_at", "booked_at"),
        sa.Index("ix_appointments_moved_to", "moved_to_id",
                 postgresql_where=sa.text("moved_to_id IS NOT NULL")),
    )

    id: Mapped[int] = _id()
    reference: Mapped[str] = mapped_column(sa.String(12), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment_slots.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment_departments.id"))
    doctor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_doctors.id"))
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    patient_name: Mapped[str] = mapped_column(sa.String(100))
    id_number_encrypted: Mapped[str] = mapped_column(sa.Text)  # app.crypto
    id_number_last4: Mapped[str] = mapped_column(sa.String(4))
    phone: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12), default=BOOKED, server_default=BOOKED)
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(10))
    moved_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"))
    booked_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    no_show_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    moved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # crypto.keyed_digest of the ID card number: the anti-scalping limits count per patient.
    # None for bookings made before it was kept (those count for their account).
    patient_digest: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))

    slot: Mapped[Slot] = relationship()
    department: Mapped[Department] = relationship()
    doctor: Mapped[Doctor | None] = relationship()

    @property
    def masked_id_number(self) -> str:
        return "*" * 14 + self.id_number_last4
