"""The fee of a passport application, through app.payments (kind "passport_fee"): submitting a
complete draft asks for the payment; the payment's success submits the application, in the
same transaction (on_paid)."""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.modules.passports.models import DRAFT, SUBMITTED, PassportApplication
from app.modules.passports.workflow import CITIZEN, load_for_update, transition
from app.payments import (
    SUCCESS,
    Payable,
    Payment,
    PaymentItemRequest,
    checkout_url,
    receipt_url,
    start_checkout,
)
from tenants.db import db

KIND = "passport_fee"


def pay_and_submit(application: PassportApplication, fee_fen: int, idempotency_key: str):
    """The answer to "submit" where the city charges: off to the checkout of the fee (the same
    payment again for the same review page; the one in progress, if another page started one)."""
    label = application_label(application.id)

    def record(payment: Payment) -> None:
        application.fee_fen, application.payment_id = fee_fen, payment.id

    def refused(error):
        return render_template("passports/refused.html", message=error.message), 409

    return start_checkout(KIND, [PaymentItemRequest(application.id, fee_fen, label)],
                          fee_description([application.id]), idempotency_key,
                          back=url_for("passports.detail", application_id=application.id),
                          refused=refused, prepare=record)


def submit_paid(payment: Payment, item_ids: list[int]) -> None:
    """on_paid: the paid drafts are submitted, in the payment's transaction."""
    for application_id in item_ids:
        application = load_for_update(application_id)
        application.fee_fen, application.payment_id = payment.amount_fen, payment.id
        if application.status == DRAFT:
            transition(application, SUBMITTED, application.applicant, by=CITIZEN)


def fee_link(application: PassportApplication) -> tuple[str, str] | None:
    """(text, URL) of the application's fee payment for the citizen: its receipt once paid,
    its checkout while it is unfinished; None otherwise."""
    payment = db.session.get(Payment, application.payment_id) if application.payment_id \
        else None
    if payment is None:
        return None
    if payment.status == SUCCESS:
        return _l("Receipt of the fee"), receipt_url(payment)
    if payment.unfinished:
        return _l("Continue paying the fee"), checkout_url(payment)
    return None


def application_page(payment: Payment) -> str:
    return url_for("passports.detail", application_id=payment.items[0].item_id)


def application_label(application_id: int) -> str | None:
    """How the fee's item names the application (in the language of the page showing it)."""
    application = db.session.get(PassportApplication, application_id)
    return None if application is None else _(
        "Passport application %(reference)s", reference=application.reference)


def fee_description(application_ids: list[int]) -> str | None:
    label = application_label(application_ids[0]) if len(application_ids) == 1 else None
    return _("Passport renewal fee, %(label)s", label=label) if label else None


FEE = Payable(kind=KIND, on_paid=submit_paid, return_url=application_page,
              item_label=application_label, description=fee_description)
