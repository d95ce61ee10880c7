"""Utility bills: staff load the utility company's accounts and bills at /admin/utility-bills/;
a signed-in citizen links an account (number and holder's surname) at
/services/utility-bills/, sees its bills and pays one or several in one payment through
app.payments. See docs/modules/fines_and_bills.md."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Figure, Module
from app.modules.billing import mark_paid, paid_per_day
from app.modules.utility_bills.admin import bp as admin_bp
from app.modules.utility_bills.models import UtilityBill
from app.modules.utility_bills.settings import UtilityBillSettings
from app.modules.utility_bills.views import PAYABLE_KIND, bp, linked_accounts, return_url
from app.payments import Payable, register_payable


def mark_bills_paid(payment, item_ids: list[int]) -> None:
    mark_paid(UtilityBill, payment, item_ids)


bp.add_app_template_global(linked_accounts, "linked_utility_accounts")
register_payable(Payable(kind=PAYABLE_KIND, module="utility_bills", on_paid=mark_bills_paid,
                         return_url=return_url))

module = Module(
    key="utility_bills",
    name=_l("Utility bills"),
    description=_l("See and pay your water, electricity and gas bills."),
    icon="payment",
    settings=UtilityBillSettings,
    citizen=bp,
    admin=admin_bp,
    figures=(
        Figure("bills_paid", _l("Utility bills paid"), per_day=lambda first_day, timezone:
               paid_per_day(UtilityBill, sa.func.count(), first_day, timezone)),
        Figure("bills_collected", _l("Utility bills collected"), unit="fen",
               per_day=lambda first_day, timezone: paid_per_day(
                   UtilityBill, sa.func.sum(UtilityBill.paid_fen), first_day, timezone)),
    ),
    account_sections=("utility_bills/_account_section.html",),
    order=45,
)
