"""What the modules that charge for records loaded by staff (traffic fines, utility bills) share:
the columns recording a payment, marking records paid when their payment succeeds, the
dashboard figures of what was paid, and the CSV export of a staff list."""
import csv
import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from wtforms import SelectChoice

from app.admin.audit import _cell as spreadsheet_safe
from tenants.context import current_tenant
from tenants.db import db


def city_today() -> date:
    return datetime.now(ZoneInfo(current_tenant().timezone)).date()


class PaidMixin:
    """A record that is paid at most once: by which payment, when, how much (fen, the amount
    actually charged, late fee included) and by which signed-in citizen, if any."""

    @declared_attr
    def payment_id(cls) -> Mapped[int | None]:  # noqa: N805  (a declared attribute of the class)
        return mapped_column(sa.BigInteger, sa.ForeignKey("payments.id"))

    paid_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    paid_fen: Mapped[int | None] = mapped_column(sa.BigInteger)

    @declared_attr
    def paid_by(cls) -> Mapped[int | None]:  # noqa: N805  (a declared attribute of the class)
        return mapped_column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"),
                             index=True)

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


def receipt_link(kind: str, item_id: int) -> str | None:
    """The receipt of a paid record, where this browser may open it (the payer's account or
    browser session: app.payments decides); else None."""
    from app.payments import payment_for, receipt_url
    from app.payments.service import may_see

    payment = payment_for(kind, item_id)
    return receipt_url(payment) if payment and may_see(payment, current_user) else None


def paid_per_day(model, value, first_day: date, timezone: str) -> dict[date, int]:
    """A Figure's per_day: `value` (an aggregate such as count or sum of paid_fen) of the
    records paid on each day since `first_day`, in the city's time zone."""
    day = sa.func.date(sa.func.timezone(timezone, model.paid_at))
    start = datetime.combine(first_day, time.min, tzinfo=ZoneInfo(timezone))
    rows = db.session.execute(sa.select(day, value).where(model.paid_at >= start)
                              .group_by(day))
    return {paid_on: int(total or 0) for paid_on, total in rows}


def csv_download(filename: str, header: list[str], rows) -> Response:
    """A staff export: UTF-8 with a BOM (so spreadsheet programs read Chinese right), cells that
    a spreadsheet never runs as formulas."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
