from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.web.navigation import safe_next
from tenants.db import db

PENDING, SENT, FAILED = "pending", "sent", "failed"
CHANNELS = ("email", "sms")


class Notification(db.Model):
    """One message to one citizen, in the city's outbox until it is sent (or given up)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {(PENDING, SENT, FAILED)}", name="status"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        sa.Index("ix_notifications_due", "next_attempt_at",
                 postgresql_where=sa.text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(10))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    locale: Mapped[str] = mapped_column(sa.String(10))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default=PENDING, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The page of the city's site the message is about (a path, never a URL: see page_path).
    path: Mapped[str | None] = mapped_column(sa.String(500))

    delivery_attempts: Mapped[list["DeliveryAttempt"]] = relationship(
        order_by="DeliveryAttempt.id", cascade="all, delete-orphan")

    @property
    def page(self) -> str | None:
        """Where the notification links to: its stored path, checked again as it is shown (a
        row changed behind the application's back still links nowhere off the site)."""
        return safe_next(self.path, None) if self.path else None


class DeliveryAttempt(db.Model):
    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    succeeded: Mapped[bool]
    error: Mapped[str | None] = mapped_column(sa.Text)
