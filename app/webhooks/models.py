"""A city's webhook endpoints and the deliveries of its events to them (the outbox: a delivery
is written in the transaction of the change it reports, and sent by a job)."""
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import db

ACTIVE, PAUSED = "active", "paused"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class WebhookEndpoint(db.Model):
    """A URL of the city's own systems that receives the events it subscribed to, signed with
    its secret (stored encrypted, app/crypto.py: signing needs it back)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {(ACTIVE, PAUSED)}", name="state"),
        sa.CheckConstraint("cardinality(events) > 0", name="events"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    events: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)))
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(10), default=ACTIVE, server_default=ACTIVE)
    # Failed attempts since the last success: at WEBHOOK_PAUSE_AFTER_FAILURES it is paused.
    consecutive_failures: Mapped[int] = mapped_column(
        sa.Integer, default=0, server_default="0")
    paused_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    # After a rotation the old secret signs too, until its receivers have the new one.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        sa.DateTime(timezone=True))

    deliveries: Mapped[list["WebhookDelivery"]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True)


class WebhookDelivery(db.Model):
    """One event for one endpoint, until it is delivered (a 2xx answer) or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {(PENDING, DELIVERED, FAILED)}", name="state"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_deliveries_due", "next_attempt_at",
                 postgresql_where=sa.text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    # Indexed by the unique constraint, which starts with it.
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The same for every endpoint and every attempt: receivers de-duplicate with it.
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(sa.String(10), default=PENDING, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # The start of the last answer (or the error when there was none), for the console.
    last_response_excerpt: Mapped[str] = mapped_column(
        sa.String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
