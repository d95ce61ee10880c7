"""Utility bills: staff load the utility company's accounts and bills at /admin/utility-bills/;
a signed-in citizen links an account (number and holder's surname) at
/services/utility-bills/, sees its bills and pays one or several in one payment through
app.payments. See docs/modules/fines_and_bills.md."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Module, to_json
from app.modules.utility_bills import demo
from app.modules.utility_bills.admin import bp as admin_bp
from app.modules.utility_bills.api import bp as api_bp
from app.modules.utility_bills.models import AccountLink, UtilityBill
from app.modules.utility_bills.settings import UtilityBillSettings
from app.modules.utility_bills.views import (
    PAYABLE_KIND,
    bill_label,
    bills_description,
    bp,
    linked_accounts,
    return_url,
)
from app.payments.records import paid_figures, paid_records
from tenants.db import db

bp.add_app_template_global(linked_accounts, "linked_utility_accounts")


def linked_accounts_data(user) -> list[dict]:
    """For "Download my data": the utility accounts the citizen linked."""
    return [to_json(account, "kind", "account_number") for account in linked_accounts(user)]


def unlink_accounts(user, actor: str) -> None:
    """The citizen closes their account: their links to utility accounts go (the accounts and
    bills are the utility company's records and stay)."""
    db.session.execute(sa.delete(AccountLink).where(AccountLink.user_id == user.id))

module = Module(
    key="utility_bills",
    name=_l("Utility bills"),
    description=_l("See and pay your water, electricity and gas bills."),
    icon="payment",
    settings=UtilityBillSettings,
    citizen=bp,
    admin=admin_bp,
    api_v1=api_bp,
    figures=paid_figures(UtilityBill, ("bills_paid", _l("Utility bills paid")),
                         ("bills_collected", _l("Utility bills collected"))),
    account_section="utility_bills/_account_section.html",
    personal_data=linked_accounts_data,
    on_account_closed=unlink_accounts,
    payables=(paid_records(UtilityBill, PAYABLE_KIND, return_url, bill_label,
                           bills_description),),
    demo=demo.add_demo_data,
    order=45,
)
