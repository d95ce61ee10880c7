"""Utility bills in the REST API (docs/api.md): the citizen's linked accounts and their bills
(`bills:read`), and the staff's CSV loads of the utility company's accounts and bills
(`staff:work`), through the same import code and checks as the console."""
import marshmallow as ma
import sqlalchemy as sa

from app.city_time import city_today
from app.modules.utility_bills.admin import ACCOUNTS_IMPORT, BILLS_IMPORT
from app.modules.utility_bills.models import AccountLink, UtilityAccount, UtilityBill
from app.modules.utility_bills.views import kind_name, linked_accounts
from app.oauth.server import api_actor, current_token, scope_required
from app.payments.records import where_state
from app.rest import ApiBlueprint, page_of
from app.rest.fields import text
from app.spreadsheets.api import add_api_import_route

bp = ApiBlueprint("api_utility_bills", __name__, url_prefix="/api/v1",
                  description="Utility bills: the citizen's accounts and bills, the staff's "
                              "CSV loads")


class UtilityAccountSchema(ma.Schema):
    account_number = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "water, electricity, gas…"})
    kind_name = ma.fields.Function(lambda account: kind_name(account.kind), required=True,
                                   metadata={"type": "string", "description": (
                                       "The kind's name in the client's language")})
    address = ma.fields.Function(lambda account: account.address_for(), required=True, metadata={
        "type": "string", "description": "In the client's language (Accept-Language), else the "
                                         "other; empty when unknown"})


class UtilityBillSchema(ma.Schema):
    bill_number = ma.fields.String(required=True)
    account_number = ma.fields.String(required=True)
    period = ma.fields.String(required=True, metadata={"description": "YYYY-MM"})
    amount_fen = ma.fields.Integer(required=True)
    due_date = ma.fields.Date(required=True)
    paid = ma.fields.Boolean(attribute="is_paid", required=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    paid_fen = ma.fields.Integer(allow_none=True)
    refunded_fen = ma.fields.Integer(required=True)


class BillArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        ["unpaid", "overdue", "paid"]))
    account_number = text(40, load_default=None)


@bp.route("/me/utility-accounts")
@bp.etag
@bp.response(200, UtilityAccountSchema(many=True))
@scope_required("bills:read")
def my_accounts():
    """The utility accounts the citizen has linked (on the city's site)."""
    return linked_accounts(current_token().get_user())


@bp.route("/me/utility-bills")
@bp.etag
@bp.arguments(BillArgs, location="query")
@bp.response(200, UtilityBillSchema(many=True))
@bp.paginate()
@scope_required("bills:read")
def my_bills(args, pagination_parameters):
    """The bills of the citizen's linked accounts, latest due first; `status` filters
    (`overdue`: unpaid after the due date)."""
    query = sa.select(UtilityBill).join(UtilityAccount).join(
        AccountLink, AccountLink.account_id == UtilityAccount.id).where(
        AccountLink.user_id == current_token().user_id)
    if args["account_number"]:
        query = query.where(UtilityBill.account_number == args["account_number"].strip().upper())
    query = where_state(query, UtilityBill, args["status"], city_today())
    return page_of(query.order_by(UtilityBill.due_date.desc(), UtilityBill.id.desc()),
                   pagination_parameters)


WORK = scope_required("staff:work", module="utility_bills")
add_api_import_route(bp, ACCOUNTS_IMPORT, "/staff/utility-accounts/imports", WORK, api_actor)
add_api_import_route(bp, BILLS_IMPORT, "/staff/utility-bills/imports", WORK, api_actor)
