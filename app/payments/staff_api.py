"""Payments in the REST API for staff (docs/api.md): the payments the token may see, one
payment with its refunds, and refunds through `service.refund` — the console's function, with
its limits (never more than is still refundable), its audit entry and the citizen's notice.

Who sees what is the console's rule (admin.py): a staff member the payments of the modules
they may view, and refunds those of the modules they configure; a back office (a service
client the city's administrators registered) what its scopes say."""
from datetime import timedelta

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _

from app.city_time import city_midnight
from app.money import format_fen
from app.oauth.server import acting_staff, api_actor, current_token, scope_required
from app.payments import service
from app.payments.admin import may, visible_kinds
from app.payments.errors import PaymentError, RefundRefused
from app.payments.models import STATUSES, Payment, Refund
from app.rest import ApiBlueprint, Problem, page_of
from app.rest.fields import text
from app.staff.permissions import CONFIGURE_MODULE
from tenants.db import db

bp = ApiBlueprint("api_staff_payments", __name__, url_prefix="/api/v1/staff/payments",
                  description="Payments and refunds, for the city's staff")


class RefundSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)
    reason = ma.fields.String(required=True)
    by = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)


class StaffPaymentSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    provider = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)
    captured_fen = ma.fields.Integer(required=True)
    refunded_fen = ma.fields.Integer(required=True)
    refundable_fen = ma.fields.Integer(required=True)
    receipt_number = ma.fields.String(allow_none=True)
    trade_no = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema), required=True)


class PaymentArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    kind = text(40, load_default=None)
    date_from = ma.fields.Date(load_default=None, metadata={"description": "Made on or after "
                                                                          "(city time)"})
    date_to = ma.fields.Date(load_default=None, metadata={"description": "Made on or before"})


class RefundArgs(ma.Schema):
    amount_fen = ma.fields.Integer(required=True, validate=ma.validate.Range(
        min=1, max=2**53), metadata={"description": "At most the payment's refundable_fen"})
    reason = text(200, min_length=1, required=True)
    reference = ma.fields.String(load_default=None, validate=ma.validate.Regexp(
        r"^[A-Za-z0-9_-]{8,32}$"), metadata={"description": (
            "Your own id of this refund (8 to 32 letters, digits, - or _): sent again, the "
            "refund made with it is answered and no money moves twice")})


def _kinds() -> list[str]:
    """The payable kinds the token may see."""
    if current_token().user_id is None:
        return list(service.PAYABLES)
    return visible_kinds(acting_staff())


def _payment(reference: str, lock: bool = False) -> Payment:
    payment = service.find(reference, lock=lock)
    if payment is None or payment.kind not in _kinds():
        raise Problem(404, _("No payment you may see has this reference."))
    return payment


@bp.route("")
@bp.etag
@bp.arguments(PaymentArgs, location="query")
@bp.response(200, StaffPaymentSchema(many=True))
@bp.paginate()
@scope_required("staff:read", per_record=True)
def payments(args, pagination_parameters):
    """The payments of the modules you may view, newest first."""
    query = sa.select(Payment).where(Payment.kind.in_(_kinds()))
    if args["status"]:
        query = query.where(Payment.status == args["status"])
    if args["kind"]:
        query = query.where(Payment.kind == args["kind"])
    if args["date_from"]:
        query = query.where(Payment.created_at >= city_midnight(args["date_from"]))
    if args["date_to"]:
        query = query.where(Payment.created_at < city_midnight(
            args["date_to"] + timedelta(days=1)))
    return page_of(query.order_by(Payment.id.desc()), pagination_parameters)


@bp.route("/<reference>")
@bp.etag
@bp.response(200, StaffPaymentSchema)
@scope_required("staff:read", per_record=True)
def payment(reference):
    """One payment with its refunds."""
    return _payment(reference)


@bp.route("/<reference>/refunds", methods=["POST"])
@bp.arguments(RefundArgs)
@bp.response(201, RefundSchema)
@bp.alt_response(409, description="More than is still refundable, or the provider refused")
@scope_required("staff:work", per_record=True)
def refund(args, reference):
    """Give back all or part of what the provider took, through the provider; the citizen is
    told. Staff need the right to configure the payment's module, as in the console."""
    payment = _payment(reference, lock=True)
    if current_token().user_id is not None and not may(acting_staff(), CONFIGURE_MODULE,
                                                        payment.kind):
        raise Problem(403, _("Your staff role does not allow refunds of this payment."),
                      kind="insufficient_permission")
    if args["reference"]:
        earlier = db.session.scalar(sa.select(Refund).where(
            Refund.reference == args["reference"]))
        if earlier is not None and earlier.payment_id == payment.id:
            return earlier  # the same answer again: a retry moves no money
        if earlier is not None:
            raise Problem(409, _("This refund reference was used for another payment."))
    try:
        made = service.refund(payment, args["amount_fen"], args["reason"].strip(),
                              api_actor()[1], reference=args["reference"])
    except RefundRefused:
        raise Problem(409, _("At most %(amount)s can still be refunded.",
                             amount=format_fen(payment.refundable_fen)),
                      kind="refund_refused", refundable_fen=payment.refundable_fen) from None
    except PaymentError as error:
        raise Problem(409, str(error.message), kind="provider_refused") from None
    db.session.commit()
    return made
