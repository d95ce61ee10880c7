from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import db

# The states of an application (app/modules/passports/workflow.py moves between them).
DRAFT, SUBMITTED, IN_REVIEW, NEEDS_INFORMATION = (
    "draft", "submitted", "in_review", "needs_information")
APPROVED, READY_FOR_COLLECTION, COLLECTED, REJECTED = (
    "approved", "ready_for_collection", "collected", "rejected")
STATUSES = (DRAFT, SUBMITTED, IN_REVIEW, NEEDS_INFORMATION, APPROVED, READY_FOR_COLLECTION,
            COLLECTED, REJECTED)
# The city has the case: these count as waiting, and against the SLA deadline.
WITH_THE_CITY = (SUBMITTED, IN_REVIEW)
_WITH_THE_CITY_SQL = "status IN ('submitted', 'in_review')"

OFFICE, DELIVERY = "office", "delivery"
PHOTO = "photo"  # the document kind of the passport photo; others name a required document


class PassportApplication(db.Model):
    """A citizen's application to renew a passport: filled in steps as a draft, then worked by
    the city's staff. `submitted_at` is the first submission (the SLA counts from it)."""

    __tablename__ = "passport_applications"
    __table_args__ = (
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})",
                           name="status"),
        sa.CheckConstraint("collection_method IS NULL OR collection_method IN "
                           "('office', 'delivery')",
                           name="collection_method"),
        sa.CheckConstraint("fee_fen >= 0", name="fee"),
        sa.Index("ix_passport_applications_user", "user_id", "id"),
        # One draft per citizen, even when "start" is clicked twice at once.
        sa.Index("uq_passport_applications_one_draft", "user_id", unique=True,
                 postgresql_where=sa.text("status = 'draft'")),
        sa.Index("ix_passport_applications_status", "status", "submitted_at"),
        sa.Index("ix_passport_applications_submitted_at", "submitted_at",
                 postgresql_where=sa.text("submitted_at IS NOT NULL")),
        sa.Index("ix_passport_applications_sla_due", "sla_due",
                 postgresql_where=sa.text(_WITH_THE_CITY_SQL)),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(30), default=DRAFT, server_default=DRAFT)
    # personal details
    full_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    id_number: Mapped[str] = mapped_column(sa.String(18), default="", server_default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    # the current passport
    passport_number: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    passport_expiry: Mapped[date | None] = mapped_column(sa.Date)
    # why
    reason: Mapped[str] = mapped_column(sa.String(30), default="", server_default="")
    reason_details: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # collection
    collection_method: Mapped[str | None] = mapped_column(sa.String(10))
    office: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    delivery_address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    # the case
    fee_fen: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    payment_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # app.payments' Payment
    assigned_user_id: Mapped[int | None] = mapped_column(sa.BigInteger,
                                                         sa.ForeignKey("users.id"))
    information_request: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    staff_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_due: Mapped[date | None] = mapped_column(sa.Date)  # the last working day of the SLA
    status_changed_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    applicant = relationship("User", foreign_keys=[user_id], lazy="joined")
    assignee = relationship("User", foreign_keys=[assigned_user_id])
    events: Mapped[list["PassportEvent"]] = relationship(
        back_populates="application", order_by="PassportEvent.id",
        cascade="all, delete-orphan")
    documents: Mapped[list["PassportDocument"]] = relationship(
        back_populates="application", order_by="PassportDocument.id",
        cascade="all, delete-orphan")

    @property
    def reference(self) -> str:
        """What the citizen and the staff quote: PP and the id, eight digits."""
        return f"PP{self.id:08d}"

    def documents_of(self, kind: str) -> list["PassportDocument"]:
        return [document for document in self.documents if document.kind == kind]


class PassportEvent(db.Model):
    """One step of an application's life (the citizen's timeline): the state it moved to, who
    moved it and the message that goes with it."""

    __tablename__ = "passport_events"
    __table_args__ = (sa.Index("ix_passport_events_application", "application_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("passport_applications.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(sa.String(30))
    to_status: Mapped[str] = mapped_column(sa.String(30))
    actor_user_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("users.id"))
    by_staff: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    occurred_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    application: Mapped[PassportApplication] = relationship(back_populates="events")


class PassportDocument(db.Model):
    """An uploaded file of an application: the photo or a supporting document. The file is
    instance/uploads/<city>/passports/<stored_name>, a random name."""

    __tablename__ = "passport_documents"
    __table_args__ = (sa.Index("ix_passport_documents_application", "application_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("passport_applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(100))
    original_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column(sa.Integer)
    uploaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    application: Mapped[PassportApplication] = relationship(back_populates="documents")
