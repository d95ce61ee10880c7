"""The fee of a passport application, through app.payments (kind "passport_fee"): submitting a
complete draft asks for the payment; the payment's success submits the application, in the
same transaction (on_paid)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.modules.passports.models import DRAFT, SUBMITTED, PassportApplication
from app.modules.passports.workflow import CITIZEN, load_for_update, transition
from app.payments import (
    SUCCESS,
    AlreadyPaid,
    Payable,
    Payment,
    PaymentError,
    PaymentInProgress,
    PaymentItemRequest,
    checkout_url,
    receipt_url,
    request_payment,
)
from tenants.db import db

KIND = "passport_fee"


def pay_and_submit(application: PassportApplication, fee_fen: int, idempotency_key: str):
    """The answer to "submit" where the city charges: off to the checkout of the fee (the same
    payment again for the same review page; the one in progress, if another page started one)."""
    label = _("Passport application %(reference)s", reference=application.reference)
    try:
        payment = request_payment(
            kind=KIND, items=[PaymentItemRequest(application.id, fee_fen, label)],
            description=_("Passport renewal fee, %(label)s", label=label), user=current_user,
            idempotency_key=idempotency_key)
    except PaymentInProgress as error:
        db.session.rollback()
        return redirect(checkout_url(error.payment))
    except AlreadyPaid:
        db.session.rollback()
        flash(_("The fee of this application is already paid."), "info")
        return redirect(url_for("passports.detail", application_id=application.id))
    except PaymentError as error:
        db.session.rollback()
        return render_template("passports/refused.html", message=error.message), 409
    application.fee_fen, application.payment_id = fee_fen, payment.id
    db.session.commit()
    return redirect(checkout_url(payment))


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


FEE = Payable(kind=KIND, on_paid=submit_paid, return_url=application_page)
