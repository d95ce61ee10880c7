"""The citizen pages of utility bills (signed in): link an account by its number and the
holder's surname, see its open and paid bills, pay one or several in one payment. A citizen
sees only the accounts they linked; every other account and bill answers 404."""
import hmac
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.audit import actor_of, record
from app.modules import settings_of
from app.modules.utility_bills.forms import LinkForm, PayBillsForm
from app.modules.utility_bills.models import (
    AccountLink,
    UtilityAccount,
    UtilityBill,
    normalize_surname,
)
from app.modules.utility_bills.settings import kind_names_of
from app.payments import PaymentItemRequest, start_checkout
from app.payments.records import receipt_link
from app.web.bilingual import in_language
from app.web.forms import INVALID_FORM, form_status
from app.web.throttle import limit_failures
from tenants.db import db

bp = Blueprint("utility_bills", __name__, template_folder="templates")
PAYABLE_KIND = "utility_bill"
NOT_LINKED = 404
KIND_NAMES = {"water": _l("Water"), "electricity": _l("Electricity"), "gas": _l("Gas")}


@bp.app_template_filter("utility_kind")
def kind_name(kind: str) -> str:
    """The kind's name in the page's language: the city's own, else ours, else its code."""
    named = kind_names_of(settings_of("utility_bills")["kind_names"]).get(kind)
    return in_language(*named) if named else str(KIND_NAMES.get(kind, kind))


def linked_accounts(user) -> list[UtilityAccount]:
    return db.session.scalars(sa.select(UtilityAccount).join(
        AccountLink, AccountLink.account_id == UtilityAccount.id).where(
        AccountLink.user_id == user.id).order_by(UtilityAccount.account_number)).all()


def _open_bills(user) -> list[UtilityBill]:
    """Unpaid bills of the citizen's linked accounts, soonest due first."""
    return db.session.scalars(
        sa.select(UtilityBill).join(UtilityAccount).join(
            AccountLink, AccountLink.account_id == UtilityAccount.id)
        .where(AccountLink.user_id == user.id, UtilityBill.paid_at.is_(None))
        .options(selectinload(UtilityBill.account))
        .order_by(UtilityBill.due_date, UtilityBill.id)).all()


def bill_label(bill: UtilityBill) -> str:
    return _("%(kind)s bill %(period)s, account %(account)s", kind=kind_name(bill.account.kind),
             period=bill.period, account=bill.account_number)


def bills_description(bills: list[UtilityBill]) -> str:
    return _("%(count)d utility bills", count=len(bills))


def _pay_form(user) -> PayBillsForm:
    form = PayBillsForm()
    form.bills.choices = [SelectChoice(bill.id, bill) for bill in _open_bills(user)]
    if not form.is_submitted():
        form.idempotency_key.data = uuid.uuid4().hex
    return form


def _index(form=None, status=200):
    form = form or _pay_form(current_user)
    return render_template("utility_bills/index.html", accounts=linked_accounts(current_user),
                           form=form, bill_label=bill_label), status


@bp.get("/")
@login_required
def index():
    return _index()


@bp.route("/link", methods=["GET", "POST"])
@login_required
@limit_failures(lambda: settings_of("utility_bills")["link_attempts_per_hour"], NOT_LINKED)
def link():
    form = LinkForm()
    if not form.validate_on_submit():
        return render_template("utility_bills/link.html", form=form, failed=False), (
            form_status(form))
    account = db.session.scalar(sa.select(UtilityAccount).where(
        UtilityAccount.account_number == form.account_number.data))
    # An unknown number and a wrong surname get the same answer (and both count).
    if account is None or not hmac.compare_digest(
            normalize_surname(form.surname.data).encode(), account.holder_surname.encode()):
        return render_template("utility_bills/link.html", form=form, failed=True), NOT_LINKED
    already = db.session.scalar(sa.select(AccountLink).where(
        AccountLink.user_id == current_user.id, AccountLink.account_id == account.id))
    if already is None:
        db.session.add(AccountLink(user_id=current_user.id, account_id=account.id))
        record(actor_of(current_user), "utility_bills.link", account.account_number)
        db.session.commit()
    flash(_("Account %(number)s is linked to your account.", number=account.account_number),
          "success")
    return redirect(url_for(".account", account_id=account.id))


def _linked_account(account_id: int) -> tuple[UtilityAccount, AccountLink]:
    found = db.session.execute(sa.select(UtilityAccount, AccountLink).join(
        AccountLink, AccountLink.account_id == UtilityAccount.id).where(
        UtilityAccount.id == account_id, AccountLink.user_id == current_user.id)).first()
    if found is None:
        abort(404)
    return found


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id):
    account, _link = _linked_account(account_id)
    receipts = {bill.id: receipt_link(PAYABLE_KIND, bill.id) for bill in account.bills
                if bill.is_paid}
    return render_template("utility_bills/account.html", account=account, receipts=receipts,
                           form=_pay_form(current_user), bill_label=bill_label)


@bp.post("/accounts/<int:account_id>/unlink")
@login_required
def unlink(account_id):
    account, link = _linked_account(account_id)
    db.session.delete(link)
    record(actor_of(current_user), "utility_bills.unlink", account.account_number)
    db.session.commit()
    flash(_("Account %(number)s is no longer linked to your account.",
            number=account.account_number), "success")
    return redirect(url_for(".index"))


@bp.post("/pay")
@login_required
def pay():
    form = _pay_form(current_user)
    if not form.validate_on_submit():
        return _index(form, INVALID_FORM)
    bills = [choice.label for choice in form.bills.choices if choice.value in form.bills.data]

    def refused(error):
        flash(str(error.message), "error")
        return _index(status=409)

    return start_checkout(
        PAYABLE_KIND, [PaymentItemRequest(bill.id, bill.amount_fen, bill_label(bill))
                       for bill in bills],
        bill_label(bills[0]) if len(bills) == 1 else bills_description(bills),
        form.idempotency_key.data, back=url_for(".index"), refused=refused)


def return_url(payment) -> str:
    return url_for("utility_bills.index")
