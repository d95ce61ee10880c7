"""The payments pages of the administration console (/admin/payments): find payments, see a
payment's history, refund, export a reconciliation CSV, and set the city's merchant account.

Who sees what: a payment is for a payable kind of some module; staff see the payments of the
modules they may view (admins and viewers: all), refund those of the modules they configure,
and only city administrators see payments of no module or change the merchant account."""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.audit import actor_of, record
from app.city_time import city_midnight, city_zone
from app.money import fen_of, format_fen, yuan
from app.payments import merchant, service
from app.payments.errors import PaymentError, RefundRefused
from app.payments.forms import ExportForm, MerchantForm, RefundForm, SearchForm
from app.payments.models import ERROR, Payment, Refund
from app.spreadsheets.export import csv_download
from app.staff.models import ADMIN
from app.staff.permissions import (
    CONFIGURE_MODULE,
    MANAGE_STAFF,
    VIEW,
    can,
    current_staff,
    staff_required,
)
from app.web.forms import INVALID_FORM, form_status
from app.web.links import external_url
from app.web.pagination import page_of
from tenants.context import current_tenant
from tenants.db import db

bp = Blueprint("payments", __name__, template_folder="templates")  # in the city console

CSV_LIMIT = 100_000


def may(staff, action: str, kind: str) -> bool:
    payable = service.PAYABLES.get(kind)
    if payable is None or payable.module is None:
        return staff is not None and staff.active and staff.role == ADMIN
    return can(staff, action, payable.module)


def visible_kinds(staff) -> list[str]:
    return [kind for kind in service.PAYABLES if may(staff, VIEW, kind)]


def can_see_payments() -> bool:
    """For the console's navigation."""
    return bool(visible_kinds(current_staff()))


def _in_range(query, date_from: date | None, date_to: date | None, column=Payment.created_at):
    if date_from:
        query = query.where(column >= city_midnight(date_from))
    if date_to:
        query = query.where(column < city_midnight(date_to + timedelta(days=1)))
    return query


def _visible(query):
    kinds = visible_kinds(current_staff())
    if not kinds:
        abort(403)
    return query.where(Payment.kind.in_(kinds))


def _load(reference: str, action: str = VIEW, lock: bool = False) -> Payment:
    payment = service.find(reference, lock=lock)
    if payment is None:
        abort(404)
    if not may(current_staff(), action, payment.kind):
        abort(403)
    return payment


@bp.get("/")
@staff_required(VIEW)
def index():
    form = SearchForm(request.args)
    query = _visible(sa.select(Payment))
    valid = form.validate()
    payments, page, more = [], 1, False
    if valid:
        if form.q.data:
            text = form.q.data.strip()
            query = query.where(sa.or_(
                Payment.reference == text.lower(), Payment.receipt_number == text,
                Payment.trade_no == text, Payment.description.icontains(text, autoescape=True)))
        if form.status.data:
            query = query.where(Payment.status == form.status.data)
        query = _in_range(query, form.date_from.data, form.date_to.data)
        payments, page, more = page_of(query.order_by(Payment.id.desc()))
        service.with_descriptions(payments)
    filters = {key: value for key, value in request.args.items()
               if key in ("q", "status", "date_from", "date_to") and value}
    return render_template("payments/admin/index.html", form=form, payments=payments,
                           page=page, more=more, filters=filters,
                           export_form=ExportForm(request.args),
                           may_configure=can(current_staff(), MANAGE_STAFF)
                           ), 200 if valid else INVALID_FORM


@bp.route("/<reference>", methods=["GET", "POST"])
@staff_required(VIEW)
def detail(reference):
    """A payment, its items, its history and refunds; the refund form for those who may."""
    payment = _load(reference)
    may_refund = may(current_staff(), CONFIGURE_MODULE, payment.kind)
    form = RefundForm()
    status = 200
    if request.method == "POST":
        if not may_refund:
            abort(403)
        if form.validate_on_submit():
            fen = _fen(form.amount.data)
            payment = _load(reference, CONFIGURE_MODULE, lock=True)
            if fen is None:
                form.amount.errors.append(_("Enter an amount in yuan, such as 12.50."))
            else:
                try:
                    service.refund(payment, fen, form.reason.data.strip(),
                                   actor_of(current_user))
                except RefundRefused:
                    db.session.rollback()
                    form.amount.errors.append(_("At most %(amount)s can still be refunded.",
                                                amount=format_fen(payment.refundable_fen)))
                except PaymentError as error:
                    db.session.rollback()
                    form.amount.errors.append(str(error.message))
                else:
                    db.session.commit()
                    flash(_("Refunded %(amount)s.", amount=form.amount.data), "success")
                    return redirect(url_for(".detail", reference=reference))
        status = INVALID_FORM
        payment = _load(reference)
    return render_template("payments/admin/detail.html", payment=payment, form=form,
                           may_refund=may_refund), status


def _fen(text: str) -> int | None:
    """Fen of a positive amount as staff type it ("¥1,200.50"), or None."""
    fen = fen_of(text)
    return fen if fen is not None and fen > 0 else None


@bp.get("/<reference>/receipt")
@staff_required(VIEW)
def receipt(reference):
    payment = _load(reference)
    if payment.status != service.SUCCESS:
        abort(404)
    return render_template("payments/receipt.html", payment=payment, admin=True)


@bp.get("/export.csv")
@staff_required(VIEW)
def export():
    """The reconciliation export of the date range (city time): the money the provider took
    and gave back, as it said (every capture, also after a payment had ended, and every
    refund), the totals, and the differences between that and the payments' own states."""
    form = ExportForm(request.args)
    if not form.validate():
        return render_template("payments/admin/index.html", form=SearchForm(), payments=[],
                               page=1, more=False, filters={}, export_form=form,
                               may_configure=can(current_staff(), MANAGE_STAFF)), INVALID_FORM
    dates = form.date_from.data, form.date_to.data
    captures = db.session.scalars(_in_range(
        _visible(sa.select(Payment)).where(Payment.captured_fen > 0), *dates, Payment.captured_at)
        .order_by(Payment.captured_at, Payment.id).limit(CSV_LIMIT)).all()
    refunds = db.session.execute(_in_range(
        _visible(sa.select(Refund, Payment).join(Payment, Refund.payment_id == Payment.id)),
        *dates, Refund.at).order_by(Refund.at, Refund.id).limit(CSV_LIMIT)).all()
    errors = db.session.scalars(_in_range(
        _visible(sa.select(Payment)).where(Payment.status == ERROR), *dates, Payment.finished_at)
        .order_by(Payment.finished_at, Payment.id).limit(CSV_LIMIT)).all()
    name = f"payments-{current_tenant().slug}-{dates[0]}-{dates[1]}.csv"
    return csv_download(name, CSV_COLUMNS,
                        reconciliation_rows(captures, refunds, errors, city_zone()))


CSV_COLUMNS = ("record", "at", "reference", "receipt_number", "kind", "description", "status",
               "provider", "trade_no", "amount_yuan", "note")


def reconciliation_rows(captures, refunds, errors, zone: ZoneInfo):
    """The export's rows, under CSV_COLUMNS, times in the city's time zone: `capture` and
    `refund` rows (what the provider did), `total` rows, then `difference` rows: money taken
    for a payment that had ended (and whether it was all given back), payments that stopped
    with an error."""
    def local(moment):
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    def row(record, at, payment, amount_fen, note=""):
        return [record, local(at), payment.reference, payment.receipt_number, payment.kind,
                payment.description, payment.status, payment.provider, payment.trade_no,
                yuan(amount_fen) if amount_fen is not None else "", note]

    captured = refunded = 0
    for payment in captures:
        captured += payment.captured_fen
        yield row("capture", payment.captured_at, payment, payment.captured_fen,
                  "paid after the payment had ended" if payment.captured_late else "")
    for refund, payment in refunds:
        refunded += refund.amount_fen
        yield row("refund", refund.at, payment, refund.amount_fen, refund.reason)
    for label, fen in (("captured", captured), ("refunded", refunded),
                       ("net", captured - refunded)):
        yield ["total", "", "", "", "", label, "", "", "", yuan(fen), ""]
    for payment in captures:
        if payment.captured_late:
            outstanding = payment.captured_fen - payment.refunded_fen
            yield row("difference", payment.captured_at, payment, outstanding,
                      f"taken after the payment was {payment.status}: "
                      + ("all given back" if outstanding == 0 else "refund it"))
    for payment in errors:
        yield row("difference", payment.finished_at, payment, payment.captured_fen or None,
                  "stopped with an error: compare with the provider's records")


@bp.route("/merchant", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def merchant_account():
    """The city's provider and credentials: secrets can be replaced, never read back."""
    account = merchant.account()
    db.session.commit()  # a city's first visit keeps the sandbox keys it made
    form = MerchantForm(obj=account if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changes = merchant.configure(
                provider=form.provider.data, app_id=form.alipay_app_id.data or "",
                private_key=form.alipay_private_key.data or None,
                public_key=form.alipay_public_key.data or None,
                gateway_url=form.alipay_gateway_url.data or "",
                expiry_minutes=form.expiry_minutes.data,
                seller_id=form.alipay_seller_id.data or "")
        except ValueError:
            db.session.rollback()
            account = merchant.account()
            form.provider.errors = [*form.provider.errors, _(
                "Alipay needs an app ID, the merchant private key and the Alipay public key.")]
        else:
            if changes:
                record(actor_of(current_user), "payments.merchant", "payment_merchant",
                       {k: v[0] for k, v in changes.items()},
                       {k: v[1] for k, v in changes.items()})
            db.session.commit()
            flash(_("Payment settings saved."), "success")
            return redirect(url_for(".merchant_account"))
    return render_template("payments/admin/merchant.html", form=form, account=account,
                           callback=external_url("payments.notify", provider="alipay")
                           ), form_status(form)
