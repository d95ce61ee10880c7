"""Payments, for every module that charges (see docs/payments.md).

A module declares what it charges for in its declaration (the registry registers it), and
asks for a payment in a view:

    module = Module(..., payables=(Payable(kind="traffic_fine", on_paid=mark_paid,
                                           return_url=fine_return_url),))
    payment = request_payment(kind="traffic_fine", items=[PaymentItemRequest(...)],
                              description=..., user=..., idempotency_key=form.key.data)
    return redirect(checkout_url(payment))

`request_payment` commits nothing (the caller commits) and returns the same payment again for
the same key and request. `on_paid(payment, item_ids)` is called once, in the transaction that
moves the payment to success. Errors subclass PaymentError and carry a translatable `message`.
"""

from app.payments import (  # noqa: F401  (`flask tenants payments`; jobs declared early)
    admin,
    cli,
    tasks,
    views,
)
from app.payments.checkout import checkout_url, receipt_url, start_checkout
from app.payments.errors import (
    AlreadyPaid,
    PaymentConflict,
    PaymentError,
    PaymentInProgress,
    PaymentUnavailable,
    ProviderError,
    RefundRefused,
)
from app.payments.models import (
    CANCELLED,
    CREATED,
    ERROR,
    EXPIRED,
    FAILED,
    STARTED,
    STATUSES,
    SUBMITTED,
    SUCCESS,
    Payment,
    PaymentItem,
)
from app.payments.service import (
    Payable,
    PaymentItemRequest,
    payment_for,
    register_payable,
    request_payment,
    with_descriptions,
)


def init_app(app) -> None:
    """The citizen-facing pages (checkout, the provider's return and notification, receipts);
    the city console mounts the staff's (app/payments/admin.py) itself."""

    app.register_blueprint(views.bp)
    app.jinja_env.globals["can_see_payments"] = admin.can_see_payments


__all__ = [
    "CANCELLED", "CREATED", "ERROR", "EXPIRED", "FAILED", "STARTED", "STATUSES", "SUBMITTED",
    "SUCCESS", "AlreadyPaid", "Payable", "Payment", "PaymentConflict", "PaymentError",
    "PaymentInProgress", "PaymentItem", "PaymentItemRequest", "PaymentUnavailable",
    "ProviderError", "RefundRefused", "checkout_url", "init_app", "payment_for", "receipt_url",
    "register_payable", "request_payment", "start_checkout", "with_descriptions",
]
