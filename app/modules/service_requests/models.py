"""The tables of service requests, in every city schema: the city's departments and categories
(with their extra questions), the requests citizens and other apps report, each request's
history and photos, and the API clients the city issued keys to."""
import re
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.web.bilingual import bilingual, in_language
from tenants.db import db

KEY = "service_requests"

# The states of a request (workflow.py moves between them). Reports from other apps wait for
# review first where the city wants that (settings: review_api_reports); rejected ones never
# become public.
AWAITING_REVIEW, SUBMITTED, IN_PROGRESS, CLOSED, REJECTED = (
    "awaiting_review", "submitted", "in_progress", "closed", "rejected")
STATUSES = (AWAITING_REVIEW, SUBMITTED, IN_PROGRESS, CLOSED, REJECTED)
OPEN = (SUBMITTED, IN_PROGRESS)  # the city works on it; counts against the time limit
PUBLIC = (SUBMITTED, IN_PROGRESS, CLOSED)  # shown on the public list and to other apps
_OPEN_SQL = "status IN ('submitted', 'in_progress')"

# Why a request was closed.
FIXED, NOT_OURS, NOT_FOUND, NO_ACTION, DUPLICATE = (
    "fixed", "not_ours", "not_found", "no_action", "duplicate")
CLOSE_REASONS = (FIXED, NOT_OURS, NOT_FOUND, NO_ACTION, DUPLICATE)

WEB, OPEN311 = "web", "open311"

# The Open311 attribute datatypes (GeoReport v2, service definition).
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LISTS = ("singlevaluelist", "multivaluelist")


def _id() -> Mapped[int]:
    return mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)


def _created() -> Mapped[datetime]:
    return mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


def _in(values) -> str:
    return f"({', '.join(repr(value) for value in values)})"


class ServiceDepartment(db.Model):
    """A department of the city that works requests (Open311's agency_responsible)."""

    __tablename__ = "service_departments"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    name_for = bilingual("name")


class ServiceCategory(db.Model):
    """A kind of problem citizens report (Open311's service): `code` is its service_code, the
    time limit is counted from the report, new requests go to its department."""

    __tablename__ = "service_categories"
    __table_args__ = (
        sa.CheckConstraint("code ~ '^[A-Za-z0-9_-]{1,40}$'", name="code"),
        sa.CheckConstraint("days_to_close BETWEEN 1 AND 365", name="days_to_close"),
    )

    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    name_zh: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    description_zh: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    group_name: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    keywords: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    days_to_close: Mapped[int] = mapped_column(sa.SmallInteger, default=7, server_default="7")
    department_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_departments.id"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())
    group_name_zh: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")

    department: Mapped[ServiceDepartment | None] = relationship()
    attributes: Mapped[list["ServiceAttribute"]] = relationship(
        back_populates="category", cascade="all, delete-orphan",
        order_by="(ServiceAttribute.position, ServiceAttribute.id)")

    name_for = bilingual("name")
    description_for = bilingual("description")
    group_name_for = bilingual("group_name")


class ServiceAttribute(db.Model):
    """An extra question of a category (Open311's attribute): `variable` false is a note shown
    with the form, asking nothing. `options` of list questions: [{key, name, name_zh}]."""

    __tablename__ = "service_category_attributes"
    __table_args__ = (
        sa.UniqueConstraint("category_id", "code"),
        sa.CheckConstraint("code ~ '^[A-Za-z0-9_-]{1,40}$'", name="code"),
        sa.CheckConstraint(f"datatype IN {_in(DATATYPES)}", name="datatype"),
    )

    id: Mapped[int] = _id()
    category_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_categories.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    datatype: Mapped[str] = mapped_column(sa.String(20))
    variable: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    description: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    description_zh: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    hint: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    hint_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    position: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    options: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")

    category: Mapped[ServiceCategory] = relationship(back_populates="attributes")

    description_for = bilingual("description")
    hint_for = bilingual("hint")

    def option_names(self, locale) -> dict[str, str]:
        return {option["key"]: in_language(option["name"], option["name_zh"], locale)
                for option in self.options}


class ServiceApiClient(db.Model):
    """Another system the city lets post requests through Open311: its api_key is shown once
    when issued and kept only as a SHA-256 digest (a random 256-bit key needs no slow hash)."""

    __tablename__ = "service_api_clients"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(sa.String(100))
    key_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(sa.String(12))  # its first characters, to tell keys apart
    created_by_user_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


def request_id_of(tracking_number: str | None) -> int | None:
    """The id a tracking number names (None for anything that isn't one)."""
    match = re.fullmatch(r"SR(\d{1,15})", (tracking_number or "").strip().upper())
    return int(match.group(1)) if match else None


class ServiceRequest(db.Model):
    """A problem reported to the city. `tracking_number` is what the reporter and other apps
    quote (Open311's service_request_id); a report waiting for review has none yet, only the
    `token` its app was given. The reporter's contact details are never public."""

    __tablename__ = "service_requests"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        sa.CheckConstraint(f"source IN {_in((WEB, OPEN311))}", name="source"),
        sa.CheckConstraint(f"close_reason IS NULL OR close_reason IN {_in(CLOSE_REASONS)}",
                           name="close_reason"),
        sa.CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
                           name="coordinate_range"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="merge"),
        sa.Index("ix_service_requests_queue", "status", "due_at"),
        sa.Index("ix_service_requests_created_at", "created_at"),
        sa.Index("ix_service_requests_closed_at", "closed_at",
                 postgresql_where=sa.text("closed_at IS NOT NULL")),
        sa.Index("ix_service_requests_user", "user_id", "id",
                 postgresql_where=sa.text("user_id IS NOT NULL")),
        sa.Index("ix_service_requests_open_category", "category_id",
                 postgresql_where=sa.text(_OPEN_SQL)),
    )

    id: Mapped[int] = _id()
    token: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    category_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_categories.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    address_id: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    answers: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # who reported it: an account, or a contact address (anonymous and other apps' reports)
    user_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("users.id"))
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(30), default="", server_default="")
    locale: Mapped[str] = mapped_column(sa.String(10))  # the reporter's language
    source: Mapped[str] = mapped_column(sa.String(10), default=WEB, server_default=WEB)
    api_client_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_api_clients.id"))
    device_id: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    account_id: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    media_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # the city's work on it
    department_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_departments.id"))
    status_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    close_reason: Mapped[str | None] = mapped_column(sa.String(20))
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_requests.id"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    category: Mapped[ServiceCategory] = relationship(lazy="joined")
    department: Mapped[ServiceDepartment | None] = relationship()
    reporter = relationship("User", foreign_keys=[user_id])
    api_client: Mapped[ServiceApiClient | None] = relationship()
    merged_into: Mapped["ServiceRequest | None"] = relationship(remote_side=[id])
    events: Mapped[list["ServiceRequestEvent"]] = relationship(
        back_populates="request", order_by="ServiceRequestEvent.id",
        cascade="all, delete-orphan")
    photos: Mapped[list["ServiceRequestPhoto"]] = relationship(
        back_populates="request", order_by="ServiceRequestPhoto.id",
        cascade="all, delete-orphan")

    @property
    def tracking_number(self) -> str | None:
        """SR and the id, eight digits or more; none while it waits for review or after it
        was rejected (it never was public)."""
        return f"SR{self.id:08d}" if self.status in PUBLIC else None

    @property
    def reference(self) -> str:
        """How staff and the audit log name it: its tracking number, or its row before it has
        one."""
        return self.tracking_number or f"#{self.id}"

    @property
    def public_photos(self) -> list["ServiceRequestPhoto"]:
        return [photo for photo in self.photos if photo.public]


class ServiceRequestEvent(db.Model):
    """One step of a request's history: a status change, an assignment or a note. The public
    note is shown to everyone; the internal note only to the city's staff."""

    __tablename__ = "service_request_events"
    __table_args__ = (sa.Index("ix_service_request_events_request", "request_id", "id"),)

    id: Mapped[int] = _id()
    request_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_requests.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    department_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_departments.id"))
    public_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    internal_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    actor_user_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = _created()

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    department: Mapped[ServiceDepartment | None] = relationship()
    actor = relationship("User")

    @property
    def is_public(self) -> bool:
        """Whether the public history shows it: a change of status, or a public note."""
        return self.from_status != self.to_status or bool(self.public_note)


class ServiceRequestPhoto(db.Model):
    """A photo of a request, re-encoded without any metadata (no EXIF, so no location), at
    instance/uploads/<city>/service_requests/<stored_name>, a random name. Staff may take it
    off the public pages (`public`)."""

    __tablename__ = "service_request_photos"
    __table_args__ = (sa.Index("ix_service_request_photos_request", "request_id"),)

    id: Mapped[int] = _id()
    request_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_requests.id", ondelete="CASCADE"))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int] = mapped_column(sa.Integer)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    public: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    uploaded_at: Mapped[datetime] = _created()

    request: Mapped[ServiceRequest] = relationship(back_populates="photos")
