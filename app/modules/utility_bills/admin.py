"""Staff pages of utility bills: load the utility company's accounts and bills (CSV), see
the accounts and the bills with their payment state, export both."""
import re

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.city_time import city_today
from app.modules import settings_of
from app.modules.utility_bills.forms import AccountFilterForm, BillFilterForm
from app.modules.utility_bills.models import (
    UtilityAccount,
    UtilityBill,
    normalize_surname,
)
from app.modules.utility_bills.settings import kinds_of
from app.payments.records import where_state
from app.spreadsheets.export import csv_download
from app.spreadsheets.imports import (
    CellError,
    Column,
    ImportSpec,
    a_date,
    add_import_routes,
    bilingual_columns,
    code,
    text,
    yuan_to_fen,
)
from app.staff.permissions import staff_required
from app.web.forms import INVALID_FORM
from app.web.pagination import page_of
from tenants.db import db

bp = Blueprint("utility_bills", __name__, template_folder="templates")
WORK = staff_required("work_module", module="utility_bills")


def _surname(value: str) -> str:
    normalized = normalize_surname(value)
    if not 0 < len(normalized) <= 40:
        raise CellError(_("Give the surname, at most 40 characters."))
    return normalized


def _kind(value: str) -> str:
    kinds = kinds_of(settings_of("utility_bills")["utility_kinds"])
    kind = value.strip().lower()
    if kind not in kinds:
        raise CellError(_("Not one of the city's kinds: %(kinds)s.", kinds=", ".join(kinds)))
    return kind


def _period(value: str) -> str:
    """2026-03, 2026/3, 202603 and 2026年3月 all read as 2026-03."""
    match = re.fullmatch(r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CellError(_("Not a year and month such as 2026-03."))
    return f"{match.group(1)}-{int(match.group(2)):02d}"


def _accounts_exist(rows: list[dict]) -> dict[int, str]:
    numbers = {row["account_number"] for row in rows}
    known = set(db.session.scalars(sa.select(UtilityAccount.account_number).where(
        UtilityAccount.account_number.in_(numbers))))
    return {index: _("Account %(number)s is not loaded: load the accounts first.",
                     number=row["account_number"])
            for index, row in enumerate(rows) if row["account_number"] not in known}


ACCOUNTS_IMPORT = ImportSpec(
    kind="utility_accounts", title=_l("Load utility accounts"), model=UtilityAccount,
    key="account_number",
    columns=(
        Column("account_number", _l("Account number"),
               ("account number", "account", "account no", "户号", "用户编号", "账户号"), code),
        Column("kind", _l("Kind"), ("kind", "utility", "type", "类型", "业务类型"), _kind),
        Column("holder_surname", _l("Holder's surname"),
               ("holder surname", "surname", "family name", "户主姓氏", "姓氏"), _surname),
        *bilingual_columns("address", _l("Address"), ("address",), ("地址", "用电地址", "用水地址"),
                           text(200), required=False),
    ))

BILLS_IMPORT = ImportSpec(
    kind="utility_bills", title=_l("Load utility bills"), model=UtilityBill, key="bill_number",
    columns=(
        Column("bill_number", _l("Bill number"),
               ("bill number", "bill", "bill no", "账单号", "账单编号"), code),
        Column("account_number", _l("Account number"),
               ("account number", "account", "account no", "户号", "用户编号", "账户号"), code),
        Column("period", _l("Period"), ("period", "month", "账期", "月份", "计费月份"), _period),
        Column("amount_fen", _l("Amount (yuan)"),
               ("amount", "amount yuan", "金额", "应缴金额", "账单金额"), yuan_to_fen),
        Column("due_date", _l("Due date"), ("due date", "pay by", "缴费截止日期", "截止日期"),
               a_date),
    ),
    check_rows=_accounts_exist)


def _bills(form: BillFilterForm) -> sa.Select:
    query = sa.select(UtilityBill)
    if form.account.data:
        query = query.where(UtilityBill.account_number == form.account.data.strip().upper())
    if form.period.data:
        query = query.where(UtilityBill.period == form.period.data.strip())
    query = where_state(query, UtilityBill, form.status.data, city_today())
    return query.order_by(UtilityBill.due_date.desc(), UtilityBill.id.desc())


def _accounts(form: AccountFilterForm) -> sa.Select:
    query = sa.select(UtilityAccount)
    if form.account.data:
        query = query.where(UtilityAccount.account_number == form.account.data.strip().upper())
    if form.kind.data:
        query = query.where(UtilityAccount.kind == form.kind.data.strip().lower())
    return query.order_by(UtilityAccount.account_number)


@bp.get("/")
@WORK
def index():
    form = BillFilterForm(request.args)
    if not form.validate():
        return render_template("utility_bills/admin/bills.html", form=form, bills=[], page=1,
                               has_next=False, today=city_today()), INVALID_FORM
    bills, page, has_next = page_of(_bills(form))
    return render_template("utility_bills/admin/bills.html", form=form, bills=bills, page=page,
                           has_next=has_next, today=city_today())


@bp.get("/accounts")
@WORK
def accounts():
    form = AccountFilterForm(request.args)
    if not form.validate():
        return render_template("utility_bills/admin/accounts.html", form=form, accounts=[],
                               page=1, has_next=False), INVALID_FORM
    rows, page, has_next = page_of(_accounts(form))
    return render_template("utility_bills/admin/accounts.html", form=form, accounts=rows,
                           page=page, has_next=has_next)


@bp.get("/export.csv")
@WORK
def export_bills():
    form = BillFilterForm(request.args)
    if not form.validate():
        return index()
    bills = db.session.scalars(_bills(form).execution_options(yield_per=1000))
    return csv_download("utility-bills.csv", [
        "bill_number", "account_number", "period", "amount_fen", "due_date", "status",
        "payment_id", "paid_at", "paid_fen"], (
        [bill.bill_number, bill.account_number, bill.period, bill.amount_fen,
         bill.due_date.isoformat(), "paid" if bill.is_paid else "unpaid", bill.payment_id,
         bill.paid_at.isoformat() if bill.paid_at else "", bill.paid_fen] for bill in bills))


@bp.get("/accounts/export.csv")
@WORK
def export_accounts():
    form = AccountFilterForm(request.args)
    if not form.validate():
        return accounts()
    rows = db.session.scalars(_accounts(form).execution_options(yield_per=1000))
    return csv_download("utility-accounts.csv", [
        "account_number", "kind", "holder_surname", "address_zh", "address"], (
        [account.account_number, account.kind, account.holder_surname, account.address_zh,
         account.address]
        for account in rows))


add_import_routes(bp, ACCOUNTS_IMPORT, WORK, prefix="/accounts",
                  back_endpoint="admin.utility_bills.accounts")
add_import_routes(bp, BILLS_IMPORT, WORK, prefix="/bills",
                  back_endpoint="admin.utility_bills.index")
