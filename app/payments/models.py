"""The payments tables, in every city schema (see docs/payments.md).

A Payment moves through STATUSES only along TRANSITIONS (app/payments/service.py `transition`),
and every move is a PaymentEvent. Each thing paid for is a PaymentItem; the partial unique index
on (kind, item_id) WHERE live lets at most one live-or-successful payment hold an item, so two
tabs or a double click can never charge twice."""
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import db

CREATED, STARTED, SUBMITTED = "created", "started", "submitted"
SUCCESS, FAILED, CANCELLED, EXPIRED, ERROR = "success", "failed", "cancelled", "expired", "error"
STATUSES = (CREATED, STARTED, SUBMITTED, SUCCESS, FAILED, CANCELLED, EXPIRED, ERROR)
# Unfinished: the citizen may still pay. The items of these and of successful payments are live.
UNFINISHED = (CREATED, STARTED, SUBMITTED)
FINISHED = (SUCCESS, FAILED, CANCELLED, EXPIRED, ERROR)
# The only moves a payment makes; a finished payment makes none.
# What citizens and staff read of a status.
STATUS_LABELS = {
    "created": _l("Not paid yet"),
    "started": _l("Not paid yet"),
    "submitted": _l("Waiting for confirmation"),
    "success": _l("Paid"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "error": _l("Error"),
}


def payment_status(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


TRANSITIONS = {
    CREATED: {STARTED, SUCCESS, FAILED, CANCELLED, EXPIRED, ERROR},
    STARTED: {SUBMITTED, SUCCESS, FAILED, CANCELLED, EXPIRED, ERROR},
    SUBMITTED: {SUCCESS, FAILED, EXPIRED, ERROR},
    **{status: set() for status in FINISHED},
}

SANDBOX, ALIPAY = "sandbox", "alipay"
PROVIDERS = (SANDBOX, ALIPAY)

# The database's own guard behind TRANSITIONS: a finished payment's status never changes, even
# through raw SQL. Provisioning runs these after the table (tenants.provisioning.city_schema_ddl).
FINISHED_IS_FINAL_SQL = (
    f"""CREATE FUNCTION payments_finished_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN {FINISHED} AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION USING MESSAGE = 'payment ' || OLD.reference || ' is finished ('
      || OLD.status || '): its status never changes';
  END IF;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER payments_finished_is_final BEFORE UPDATE OF status ON payments "
    "FOR EACH ROW EXECUTE FUNCTION payments_finished_is_final()",
)
DEFAULT_EXPIRY_MINUTES = 30


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Payment(db.Model):
    """One attempt to pay for one or more items. `reference` is public and unguessable (in URLs,
    and the out_trade_no the provider knows it by); `receipt_number` is given on success."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        sa.CheckConstraint("amount_fen > 0", name="amount"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= captured_fen", name="refunded"),
        # Money is taken whole or not at all; a successful payment's is; a late capture
        # (paid after the payment ended) is money taken on a payment that is not successful.
        sa.CheckConstraint("captured_fen IN (0, amount_fen) AND (captured_fen = 0) = "
                           "(captured_at IS NULL) AND (status <> 'success' OR captured_fen > 0)",
                           name="captured"),
        sa.CheckConstraint("(status = 'success') = (paid_at IS NOT NULL)", name="paid_at"),
        sa.CheckConstraint("(status = 'success') = (receipt_number IS NOT NULL)",
                           name="receipt_number"),
        sa.Index("ix_payments_unfinished_expiry", "expires_at",
                 postgresql_where=sa.text(f"status IN {UNFINISHED}")),
        sa.Index("ix_payments_created_at", "created_at"),
        {"info": {"ddl": FINISHED_IS_FINAL_SQL}},
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(sa.String(10), default=CREATED, server_default=CREATED)
    provider: Mapped[str] = mapped_column(sa.String(10))
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # SHA-256 of what was asked (kind, user, items and amounts): the same key with another
    # request is a conflict.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    trade_no: Mapped[str | None] = mapped_column(sa.String(64))  # the provider's number
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    receipt_number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    # What the provider took, as it said (verified notification or query): the amount, on
    # success or later (a late capture, refunded by itself). Refunds come out of it.
    captured_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    captured_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    items: Mapped[list["PaymentItem"]] = relationship(
        order_by="PaymentItem.id", back_populates="payment", cascade="all, delete-orphan")
    events: Mapped[list["PaymentEvent"]] = relationship(
        order_by="PaymentEvent.id", cascade="all, delete-orphan")
    refunds: Mapped[list["Refund"]] = relationship(
        order_by="Refund.id", cascade="all, delete-orphan")

    @property
    def out_trade_no(self) -> str:
        return self.reference

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    @property
    def refundable_fen(self) -> int:
        """What can still be given back: all the provider took, less the refunds."""
        return self.captured_fen - self.refunded_fen

    @property
    def captured_late(self) -> bool:
        """Paid at the provider after the payment had ended (cancelled, expired…)."""
        return self.captured_fen > 0 and self.status != SUCCESS


class PaymentItem(db.Model):
    """A thing a payment pays for (a fine, a bill…), by its payable kind and id."""

    __tablename__ = "payment_items"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount"),
        sa.Index("uq_payment_items_live", "kind", "item_id", unique=True,
                 postgresql_where=sa.text("live")),
        sa.Index("ix_payment_items_kind_item", "kind", "item_id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    item_id: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    label: Mapped[str] = mapped_column(sa.String(200))
    # True while the payment is unfinished or successful: it holds the item.
    live: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    payment: Mapped[Payment] = relationship(back_populates="items")


class PaymentEvent(db.Model):
    """A change of a payment: a transition (from → to), or a refund or a late message that
    changed no state (from = to). `message` keeps what the provider said, as received."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(sa.String(10))
    to_status: Mapped[str] = mapped_column(sa.String(10))
    cause: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Refund(db.Model):
    """Money given back on a successful payment (all or part of it)."""

    __tablename__ = "payment_refunds"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    # out_request_no at the provider: one per refund, so a retried call refunds once.
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(200))
    by: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class MerchantAccount(db.Model):
    """The city's payment settings and credentials (one row). Keys are encrypted with
    app/crypto.py (its key is configuration, never here). The sandbox keys are made for every
    city (a job after provisioning, or on first use); Alipay's are set by the city."""

    __tablename__ = "payment_merchant"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        sa.CheckConstraint("expiry_minutes BETWEEN 1 AND 1440", name="expiry_minutes"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False,
                                    default=1)
    provider: Mapped[str] = mapped_column(sa.String(10), default=SANDBOX, server_default=SANDBOX)
    expiry_minutes: Mapped[int] = mapped_column(
        sa.SmallInteger, default=DEFAULT_EXPIRY_MINUTES, server_default=str(DEFAULT_EXPIRY_MINUTES))
    # Sandbox: the city's merchant key, and the key the sandbox signs its messages with.
    sandbox_merchant_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    sandbox_gateway_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # Alipay: what the merchant's Alipay open platform application gives.
    alipay_app_id: Mapped[str | None] = mapped_column(sa.String(32))
    alipay_private_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    alipay_public_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    alipay_gateway_url: Mapped[str | None] = mapped_column(sa.String(300))
    # The last receipt number given (receipts are numbered without gaps, under this row's lock).
    last_receipt_number: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())
    # The merchant's Alipay partner ID (PID, 2088…): notifications for another seller are
    # refused.
    alipay_seller_id: Mapped[str | None] = mapped_column(sa.String(32))


class SandboxTrade(db.Model):
    """What the sandbox provider knows of a trade: its own record, as Alipay keeps one, so the
    sandbox answers alipay.trade.query without looking at the payment."""

    __tablename__ = "payment_sandbox_trades"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    trade_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    total_amount: Mapped[str] = mapped_column(sa.String(20))
    trade_status: Mapped[str] = mapped_column(sa.String(20))
    refunded_amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
