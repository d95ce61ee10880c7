"""The one way a citizen's "pay" starts, whatever is paid (a fine, bills, a passport fee): ask for
the payment (the same one again for the same form), then off to its checkout. A payment under
way for the same items leads to its checkout, something already paid leads back with a note,
and a refusal is answered by the module's own page."""
from collections.abc import Callable, Sequence

from flask import flash, redirect, url_for
from flask_login import current_user

from app.payments.errors import AlreadyPaid, PaymentError, PaymentInProgress
from app.payments.models import Payment
from app.payments.service import PaymentItemRequest, request_payment
from tenants.db import db


def checkout_url(payment: Payment) -> str:
    """The payment's page on the city's host: summary, pay button, then the provider."""
    return url_for("payments.show", reference=payment.reference)


def receipt_url(payment: Payment) -> str:
    """The printable receipt of a successful payment."""
    return url_for("payments.receipt", reference=payment.reference)


def start_checkout(kind: str, items: Sequence[PaymentItemRequest], description: str,
                   idempotency_key: str, *, back: str, refused: Callable,
                   prepare: Callable[[Payment], None] | None = None):
    """The answer to a pay form: the redirect to the payment's checkout, after `prepare(payment)`
    (the module's own record of it) and the commit. Already paid: back to `back` with a note.
    Refused (the form's key reused for another request, payments unavailable): `refused(error)`,
    the module's page saying `error.message`, with its status."""
    user = current_user if current_user.is_authenticated else None
    try:
        payment = request_payment(kind=kind, items=items, description=description, user=user,
                                  idempotency_key=idempotency_key)
    except PaymentInProgress as error:
        db.session.rollback()
        flash(str(error.message), "info")
        return redirect(checkout_url(error.payment))
    except AlreadyPaid as error:
        db.session.rollback()
        flash(str(error.message), "info")
        return redirect(back)
    except PaymentError as error:
        db.session.rollback()
        return refused(error)
    if prepare is not None:
        prepare(payment)
    db.session.commit()
    return redirect(checkout_url(payment))
