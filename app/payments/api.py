"""The citizen's payments in the REST API (docs/api.md): the list, one payment, and its
receipt (what the printable receipt page shows). Modules start payments in their own
resources (a fine: app/modules/traffic_fines/api.py) and answer them with PaymentSchema,
whose `checkout_url` is the payment's page on the city's host to open in the citizen's
browser, as the pages' pay buttons lead there."""
import marshmallow as ma
import sqlalchemy as sa
from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from app.oauth.server import citizens_own, current_token, scope_required
from app.payments.errors import (
    AlreadyPaid,
    PaymentConflict,
    PaymentError,
    PaymentInProgress,
)
from app.payments.models import STATUSES, SUCCESS, Payment, payment_status
from app.payments.service import item_label, payment_description, with_descriptions
from app.rest import ApiBlueprint, Problem, page_of
from app.web.links import external_url

bp = ApiBlueprint("api_payments", __name__, url_prefix="/api/v1/payments",
                  description="The citizen's payments and their receipts")
STRING = {"type": "string"}


def _method(payment: Payment) -> str:
    return _("Alipay") if payment.provider == "alipay" else _(
        "Sandbox (test payment, no money moved)")


class ItemSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "What it is, e.g. "
                                                                    "traffic_fine"})
    item_id = ma.fields.Integer(required=True, metadata={"description": "The id of the fine, "
                                                                        "bill…"})
    label = ma.fields.Function(item_label, required=True, metadata=STRING)
    amount_fen = ma.fields.Integer(required=True)


class PaymentSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    description = ma.fields.Function(payment_description, required=True, metadata=STRING)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    status_label = ma.fields.Function(lambda payment: payment_status(payment.status),
                                      required=True, metadata=STRING)
    amount_fen = ma.fields.Integer(required=True, metadata={"description": "In fen (CNY "
                                                                          "cents)"})
    refunded_fen = ma.fields.Integer(required=True)
    provider = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    paid_at = ma.fields.DateTime(allow_none=True, required=True)
    receipt_number = ma.fields.String(allow_none=True, required=True)
    items = ma.fields.Nested(ItemSchema, many=True, required=True)
    checkout_url = ma.fields.Function(
        lambda payment: checkout_link(payment) if payment.unfinished else None,
        allow_none=True, required=True, metadata={**STRING, "description": (
            "While unpaid: the payment's page on the city's host, to open in the browser "
            "where the citizen is signed in (it leads to the provider's checkout)")})
    receipt_url = ma.fields.Function(
        lambda payment: external_url("payments.receipt", reference=payment.reference)
        if payment.status == SUCCESS else None, allow_none=True, required=True,
        metadata={**STRING, "description": "Once paid: the printable receipt's page"})


class ReceiptSchema(ma.Schema):
    """The receipt page's fields (payments/receipt.html)."""
    receipt_number = ma.fields.String(required=True)
    issuer = ma.fields.Function(lambda _payment: g.tenant.display_name(get_locale()),
                                required=True, metadata={**STRING, "description": "The city"})
    description = ma.fields.Function(payment_description, required=True, metadata=STRING)
    paid_at = ma.fields.DateTime(required=True)
    amount_fen = ma.fields.Integer(required=True)
    refunded_fen = ma.fields.Integer(required=True)
    payment_method = ma.fields.Function(_method, required=True, metadata=STRING)
    trade_no = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "The provider's transaction number"})
    reference = ma.fields.String(required=True)
    items = ma.fields.Nested(ItemSchema, many=True, required=True)


class PaymentFilterSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


def checkout_link(payment: Payment) -> str:
    """The absolute address of the payment's page, on the city's stored domain."""
    return external_url("payments.show", reference=payment.reference)


def refusal(error: PaymentError) -> Problem:
    """A payment that can't be started, as a problem document: 409 when the item is paid, a
    payment of it is under way or the key was used for another request (with the payment's
    reference where the citizen made it); 503 when the city takes no payments now."""
    own = error.payment is not None and error.payment.user_id == current_token().user_id
    extra = {"payment": error.payment.reference} if own else {}
    status = 409 if isinstance(error, AlreadyPaid | PaymentInProgress | PaymentConflict) else 503
    return Problem(status, str(error.message), kind="payment_refused", **extra)


@bp.route("")
@bp.etag
@bp.arguments(PaymentFilterSchema, location="query", as_kwargs=True)
@bp.response(200, PaymentSchema(many=True))
@bp.paginate()
@scope_required("payments:read")
def payments(pagination_parameters, status=None):
    """The payments the citizen made while signed in, newest first."""
    query = sa.select(Payment).where(Payment.user_id == current_token().user_id)
    if status:
        query = query.where(Payment.status == status)
    return with_descriptions(page_of(
        query.order_by(Payment.created_at.desc(), Payment.id.desc()), pagination_parameters))


@bp.route("/<reference>")
@bp.etag
@bp.response(200, PaymentSchema)
@scope_required("payments:read")
def payment(reference):
    """One of the citizen's payments."""
    return citizens_own(Payment, Payment.reference == reference)


@bp.route("/<reference>/receipt")
@bp.etag
@bp.response(200, ReceiptSchema)
@scope_required("payments:read")
def receipt(reference):
    """The receipt of one of the citizen's successful payments (404 until it succeeds)."""
    payment = citizens_own(Payment, Payment.reference == reference)
    if payment.status != SUCCESS:
        raise NotFound()
    return payment
