"""Traffic fines in the REST API (docs/api.md): the citizen's fines (those they paid or
started paying while signed in), looking a fine up by plate and ticket number as the page
does (failed look-ups throttled alike), and paying it: the same payment the fine's pay button
asks for (app.payments.request_payment, with the late fee of the day), answered with its
checkout address."""
import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _

from app.modules import settings_of
from app.modules.traffic_fines.fees import due_today
from app.modules.traffic_fines.models import TrafficFine
from app.modules.traffic_fines.views import LOOKUPS, NOT_FOUND, PAYABLE_KIND, fine_label
from app.oauth.server import current_token, scope_required
from app.payments import (
    Payment,
    PaymentError,
    PaymentItem,
    PaymentItemRequest,
    request_payment,
)
from app.payments.api import PaymentSchema, refusal
from app.rest import ApiBlueprint, IdempotencyKeySchema, Problem, page_of
from app.rest.fields import text
from app.spreadsheets.imports import normalize_plate
from app.web.throttle import limit_failures
from tenants.db import db

bp = ApiBlueprint("api_traffic_fines", __name__, url_prefix="/api/v1/traffic-fines",
                  description="Traffic fines: the citizen's, looking one up, paying one")
# Failed look-ups (404) draw on the look-up page's budget, per city and client.
THROTTLED = limit_failures(lambda: settings_of("traffic_fines")["lookups_per_hour"], NOT_FOUND,
                           shared=LOOKUPS)


class AmountDueSchema(ma.Schema):
    fine_fen = ma.fields.Integer(required=True)
    days_late = ma.fields.Integer(required=True)
    late_fee_fen = ma.fields.Integer(required=True)
    total_fen = ma.fields.Integer(required=True, metadata={"description": "What paying today "
                                                                         "costs, in fen"})


class FineSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    ticket_number = ma.fields.String(required=True)
    plate_number = ma.fields.String(required=True)
    offence = ma.fields.Function(lambda fine: fine.offence_for(), required=True, metadata={
        "type": "string", "description": "In the client's language (Accept-Language), else "
                                         "the other"})
    place = ma.fields.Function(lambda fine: fine.place_for(), required=True, metadata={
        "type": "string", "description": "In the client's language, else the other"})
    occurred_at = ma.fields.DateTime(required=True)
    amount_fen = ma.fields.Integer(required=True)
    due_date = ma.fields.Date(required=True)
    paid = ma.fields.Boolean(attribute="is_paid", required=True)
    paid_at = ma.fields.DateTime(allow_none=True, required=True)
    paid_fen = ma.fields.Integer(allow_none=True, required=True)
    refunded_fen = ma.fields.Integer(required=True)
    due = ma.fields.Function(
        lambda fine: None if fine.is_paid else AmountDueSchema().dump(due_today(fine)),
        allow_none=True, required=True, metadata={
            "type": "object", "description": "While unpaid: what paying today costs "
                                                       "(fine_fen, days_late, late_fee_fen, "
                                                       "total_fen)"})


class LookupSchema(ma.Schema):
    """The look-up form's fields (forms.LookupForm), normalised alike."""
    plate_number = text(20, min_length=1, required=True)
    ticket_number = text(40, min_length=1, required=True)

    @ma.post_load
    def _normalized(self, data, **_kwargs):
        return {"plate_number": normalize_plate(data["plate_number"]),
                "ticket_number": data["ticket_number"].strip().upper()}


def _looked_up(plate_number: str, ticket_number: str) -> TrafficFine:
    """The fine with both numbers; a wrong plate and an unknown ticket are the same 404."""
    fine = db.session.scalar(sa.select(TrafficFine).where(
        TrafficFine.ticket_number == ticket_number, TrafficFine.plate_number == plate_number))
    if fine is None:
        raise Problem(NOT_FOUND, _("No fine matches this plate number and ticket number. "
                                   "Check both against the ticket. A fine issued in the last "
                                   "few days may not be here yet."), kind="fine_not_found")
    return fine


def _citizens_fines():
    """The fines the token's citizen paid, or has a payment of, while signed in."""
    user_id = current_token().user_id
    with_payment = sa.select(PaymentItem.item_id).join(Payment).where(
        PaymentItem.kind == PAYABLE_KIND, Payment.user_id == user_id)
    return sa.select(TrafficFine).where(sa.or_(TrafficFine.paid_by == user_id,
                                               TrafficFine.id.in_(with_payment)))


@bp.route("")
@bp.etag
@bp.response(200, FineSchema(many=True))
@bp.paginate()
@scope_required("payments:read")
def fines(pagination_parameters):
    """The citizen's fines (paid, or with a payment started), the latest offence first."""
    return page_of(_citizens_fines().order_by(TrafficFine.occurred_at.desc(),
                                              TrafficFine.id.desc()), pagination_parameters)


@bp.route("/<int:fine_id>")
@bp.etag
@bp.response(200, FineSchema)
@scope_required("payments:read")
def fine(fine_id):
    """One of the citizen's fines."""
    found = db.session.scalar(_citizens_fines().where(TrafficFine.id == fine_id))
    if found is None:
        raise Problem(404, _("There is no such fine among yours."))
    return found


@bp.route("/lookup", methods=["POST"])
@THROTTLED
@bp.arguments(LookupSchema)
@bp.response(200, FineSchema)
@scope_required("payments:read")
def lookup(data):
    """A fine found by its plate and ticket number together, with what is due today."""
    return _looked_up(data["plate_number"], data["ticket_number"])


@bp.route("/payments", methods=["POST"])
@THROTTLED
@bp.arguments(IdempotencyKeySchema, location="headers")
@bp.arguments(LookupSchema)
@bp.response(201, PaymentSchema)
@scope_required("payments:write")
def pay(headers, data):
    """Pay a fine found by its plate and ticket number: the payment of what is due today,
    with its `checkout_url`. The same Idempotency-Key again answers the same payment."""
    found = _looked_up(data["plate_number"], data["ticket_number"])
    label = fine_label(found)
    try:
        payment = request_payment(
            kind=PAYABLE_KIND, items=[PaymentItemRequest(found.id, due_today(found).total_fen,
                                                         label)],
            description=label, user=current_token().get_user(),
            idempotency_key=headers["idempotency_key"])
    except PaymentError as error:
        raise refusal(error) from None
    db.session.commit()
    return payment
