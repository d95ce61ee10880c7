"""Demo utility accounts for `flask demo`: in Lishui, two accounts to link (holder's surname
王) with open bills."""
from datetime import date, timedelta

from app.modules.utility_bills.models import UtilityAccount, UtilityBill
from tenants.db import db


def add_demo_data(slug: str) -> None:
    if slug != "lishui":
        return
    today = date.today()
    home = {"address_zh": "莲都区花园路1号", "address": "1 Huayuan Road, Liandu District"}
    water = UtilityAccount(account_number="W-1001", kind="water", holder_surname="王", **home)
    power = UtilityAccount(account_number="E-2002", kind="electricity", holder_surname="王",
                           **home)
    db.session.add_all([water, power])
    db.session.add_all(
        UtilityBill(bill_number=number, account=account, period=period, amount_fen=fen,
                    due_date=today + timedelta(days=days))
        for number, account, period, fen, days in (
            ("B-0001", water, "2026-10", 3520, -5), ("B-0002", water, "2026-11", 4180, 25),
            ("B-0003", power, "2026-11", 12005, 20)))
