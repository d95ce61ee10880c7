"""Records that staff load and citizens pay (traffic fines, utility bills — any module may):
the columns recording a payment, marking records paid when their payment succeeds (and what was
given back when it is refunded: a refunded record stays paid, never payable again), the staff's
filter by payment state, the receipt link, and the dashboard figures of what was paid."""
from datetime import date, datetime
from functools import partial

import sqlalchemy as sa
from flask import g
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from wtforms import SelectChoice

from app.city_time import city_midnight, day_in
from app.figures import Figure
from app.payments.checkout import receipt_url
from app.payments.service import Payable, may_see, payment_for
from tenants.db import db


class PaidMixin:
    """A record that is paid at most once: by which payment, when, how much (fen, the amount
    actually charged, late fee included) and by which signed-in citizen, if any."""

    @declared_attr
    def payment_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.BigInteger, sa.ForeignKey("payments.id"))

    paid_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    paid_fen: Mapped[int | None] = mapped_column(sa.BigInteger)

    @declared_attr
    def paid_by(cls) -> Mapped[int | None]:
        return mapped_column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"),
                             index=True)

    @declared_attr
    def refunded_fen(cls) -> Mapped[int]:
        """Given back of paid_fen by refunds of its payment (the on_refunded hook)."""
        return mapped_column(sa.BigInteger, default=0, server_default="0")

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


# The staff's filter of records by payment state; "overdue": unpaid after the due date.
PAYMENT_STATES = (SelectChoice("", _l("All")), SelectChoice("unpaid", _l("Unpaid")),
                  SelectChoice("overdue", _l("Overdue")), SelectChoice("paid", _l("Paid")))


def where_state(query: sa.Select, model, state: str | None, today: date) -> sa.Select:
    if state == "paid":
        return query.where(model.paid_at.is_not(None))
    if state == "unpaid":
        return query.where(model.paid_at.is_(None))
    if state == "overdue":
        return query.where(model.paid_at.is_(None), model.due_date < today)
    return query


def paid_index(table: str) -> sa.Index:
    """The index that serves the figures: paid records by time of payment."""
    return sa.Index(f"ix_{table}_paid_at", "paid_at", "paid_fen",
                    postgresql_where=sa.text("paid_at IS NOT NULL"))


def mark_paid(model, payment, item_ids: list[int]) -> None:
    """The on_paid hook's work, in the payment's own transaction: record the payment on each
    record with the fen charged for it. A record already paid by another payment is left as
    it is (the payments package never lets that happen)."""
    amounts = {item.item_id: item.amount_fen for item in payment.items
               if item.item_id in item_ids}
    records = db.session.scalars(sa.select(model).where(model.id.in_(amounts))
                                 .with_for_update()).all()
    for record in records:
        if record.paid_at is None:
            record.payment_id, record.paid_at = payment.id, payment.paid_at
            record.paid_fen, record.paid_by = amounts[record.id], payment.user_id


def mark_refunded(model, payment, refund) -> None:
    """The on_refunded hook's work, in the refund's transaction: the amount given back is
    spread over the payment's records in item order, each up to what was paid for it. The
    records stay paid (a refund is the city's decision, not a debt reopened)."""
    records = db.session.scalars(sa.select(model).where(model.payment_id == payment.id)
                                 .order_by(model.id).with_for_update()).all()
    left = refund.amount_fen
    for record in records:
        share = min(left, (record.paid_fen or 0) - record.refunded_fen)
        record.refunded_fen += share
        left -= share


def paid_records(model, kind: str, return_url, label, description=None) -> Payable:
    """What app.payments charges for records of `model`, as the payable `kind`: a successful
    payment marks them paid (mark_paid), a refund records what was given back (mark_refunded);
    `label(record)` names a record in the page's language wherever its payment is shown,
    `description(records)`, if given, a payment of several."""
    def item_label(item_id: int) -> str | None:
        record = db.session.get(model, item_id)
        return label(record) if record is not None else None

    def describe(item_ids: list[int]) -> str | None:
        records = [db.session.get(model, item_id) for item_id in item_ids]
        if not records or None in records:
            return None
        return label(records[0]) if len(records) == 1 or description is None else (
            description(records))

    def load(item_ids: list[int]) -> None:
        # Into the session, where get() finds them, held for this request or job: its
        # identity map keeps an object only while something refers to it.
        g.setdefault("described_records", []).extend(
            db.session.scalars(sa.select(model).where(model.id.in_(item_ids))))

    return Payable(kind=kind, on_paid=partial(mark_paid, model), return_url=return_url,
                   on_refunded=partial(mark_refunded, model), item_label=item_label,
                   description=describe, load_records=load)


def receipt_link(kind: str, item_id: int) -> str | None:
    """The receipt of a paid record, where this browser may open it (the payer's account or
    browser session: app.payments decides); else None."""
    payment = payment_for(kind, item_id)
    return receipt_url(payment) if payment and may_see(payment, current_user) else None


def paid_per_day(model, value, first_day: date, timezone: str) -> dict[date, int]:
    """A Figure's per_day: `value` (an aggregate such as count or sum of paid_fen) of the
    records paid on each day since `first_day`, in the city's time zone."""
    day = day_in(model.paid_at, timezone)
    rows = db.session.execute(sa.select(day, value)
                              .where(model.paid_at >= city_midnight(first_day, timezone))
                              .group_by(day))
    return {paid_on: int(total or 0) for paid_on, total in rows}


def paid_figures(model, paid: tuple[str, str], collected: tuple[str, str]) -> tuple[Figure, ...]:
    """The dashboard's figures of `model`: records paid, and fen collected, per day; each given
    as (key, label)."""
    return (Figure(*paid, per_day=partial(paid_per_day, model, sa.func.count())),
            Figure(*collected, unit="fen",
                   per_day=partial(paid_per_day, model, sa.func.sum(model.paid_fen))))
