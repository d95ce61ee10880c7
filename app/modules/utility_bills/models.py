from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.payments.records import PaidMixin, paid_index
from app.spreadsheets.imports import without_separators
from app.web.bilingual import bilingual
from tenants.db import db


def normalize_surname(value: str) -> str:
    """The check value as stored and compared: no separators, case folded."""
    return without_separators(value).casefold()


class UtilityAccount(db.Model):
    """A water, electricity or gas account of the utility company, loaded from its CSV export.
    A citizen links it by its number and the holder's surname (the check value). Its address
    is in English and Chinese (`address`, `address_zh`; either or both may be empty)."""

    __tablename__ = "utility_accounts"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    account_number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # one of the city's utility_kinds
    holder_surname: Mapped[str] = mapped_column(sa.String(40))  # normalised (check_value)
    address: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    loaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    address_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    address_for = bilingual("address")

    bills: Mapped[list["UtilityBill"]] = relationship(
        back_populates="account", order_by="UtilityBill.due_date.desc()")


class UtilityBill(PaidMixin, db.Model):
    """A bill of an account for a period, paid at most once (alone or with other bills)."""

    __tablename__ = "utility_bills"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount"),
        sa.Index("ix_utility_bills_account", "account_number", "due_date"),
        paid_index("utility_bills"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    bill_number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    account_number: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("utility_accounts.account_number"))
    period: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    due_date: Mapped[date] = mapped_column(sa.Date)
    loaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    account: Mapped[UtilityAccount] = relationship(back_populates="bills")


class AccountLink(db.Model):
    """A citizen who proved they know an account (number and surname) and sees its bills."""

    __tablename__ = "utility_account_links"
    __table_args__ = (sa.UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.BigInteger,
                                         sa.ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("utility_accounts.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    account: Mapped[UtilityAccount] = relationship()
