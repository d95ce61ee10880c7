"""Traffic fines: citizens find a fine by plate and ticket number (both must match; failed
look-ups throttled), see what is due with the late fee, pay it through the sandbox once; staff
filter and export. Loading the police's file is tested in test_csv_import.py."""
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.city_time import city_today
from app.modules import ModuleError, configure, discover
from app.modules.traffic_fines.fees import amount_due
from app.modules.traffic_fines.models import TrafficFine
from app.payments import Payment
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import idempotency_key, pay_as_asked, reference_in
from tests.app.spreadsheets.test_imports import GOOD_ROWS, HEADER, load, upload
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import configure_city, host, post_form


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("fines", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["traffic_fines"])
    return tenant


def add_fine(app, tenant, ticket="3301001", plate="浙K12345", amount_fen=20000,
             due=date(2099, 1, 1)) -> int:
    with tenant_context(tenant, app):
        fine = TrafficFine(ticket_number=ticket, plate_number=plate, offence="Speeding",
                           place="Huayuan Road", occurred_at=sa.func.now(),
                           amount_fen=amount_fen, due_date=due)
        db.session.add(fine)
        db.session.commit()
        return fine.id


def look_up(client, tenant, plate, ticket):
    return post_form(client, tenant, "/services/traffic-fines/",
                     {"plate_number": plate, "ticket_number": ticket})


def fine_row(app, tenant, fine_id) -> TrafficFine:
    with tenant_context(tenant, app):
        fine = db.session.get(TrafficFine, fine_id)
        db.session.expunge_all()
        return fine


def pay_form(client, tenant, fine_id) -> dict:
    """The fine page's pay form as the browser sends it (with its idempotency key)."""
    detail = client.get(f"/services/traffic-fines/{fine_id}", headers=host(tenant))
    key = idempotency_key(detail)
    assert key, "the fine's page offers no pay form"
    return {"csrf_token": form_token(detail), "idempotency_key": key}


def ask_to_pay(client, tenant, fine_id, form=None):
    return client.post(f"/services/traffic-fines/{fine_id}/pay", headers=host(tenant),
                       data=form or pay_form(client, tenant, fine_id))


# -- the late fee ------------------------------------------------------------------------------

@pytest.mark.parametrize(("today", "fee"), [
    (date(2026, 3, 15), 0),        # before the due date
    (date(2026, 3, 16), 0),        # on the due date: no fee yet
    (date(2026, 3, 17), 600),      # 1 day late: 3 % of 200 yuan
    (date(2026, 3, 26), 6000),     # 10 days late
    (date(2026, 4, 18), 19800),    # 33 days: 99 %
    (date(2026, 4, 19), 20000),    # 34 days: 102 %, capped at 100 %
    (date(2027, 1, 1), 20000),     # long after: still the cap
])
def test_the_late_fee_grows_per_day_after_the_due_date_up_to_the_cap(today, fee):
    due = amount_due(20000, date(2026, 3, 16), today, Decimal("3"), 100)
    assert due.late_fee_fen == fee and due.total_fen == 20000 + fee


def test_the_late_fee_is_rounded_down_to_the_fen_over_all_days_at_once():
    # 0.5 % of 3.33 yuan is 1.665 fen a day: 3 days are 4.995 fen → 4 fen (not 3 × 1 fen).
    assert amount_due(333, date(2026, 1, 1), date(2026, 1, 4), Decimal("0.5"), 100) \
        .late_fee_fen == 4
    assert amount_due(333, date(2026, 1, 1), date(2026, 1, 4), Decimal("0"), 100) \
        .late_fee_fen == 0
    assert amount_due(10001, date(2026, 1, 1), date(2026, 3, 1), Decimal("3"), 50) \
        .late_fee_fen == 5000


# -- looking a fine up ---------------------------------------------------------------------------

def test_a_fine_is_found_by_plate_and_ticket_whatever_the_plate_spelling(app, client, town):
    fine_id = add_fine(app, town)
    response = look_up(client, town, " 浙k·12345 ", "3301001")
    assert response.headers["Location"].endswith(f"/services/traffic-fines/{fine_id}")
    page = client.get(f"/services/traffic-fines/{fine_id}", headers=host(town))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Speeding" in text and "Pay" in text


def test_wrong_plate_and_unknown_ticket_get_the_same_answer(app, client, town):
    fine_id = add_fine(app, town)
    wrong_plate = look_up(client, town, "浙K99999", "3301001")
    unknown = look_up(client, town, "浙K12345", "9999999")
    assert wrong_plate.status_code == unknown.status_code == 404

    def message(response):
        return re.search(r'<div class="error-summary".*?</div>', response.get_data(as_text=True),
                         re.S).group(0)
    assert message(wrong_plate) == message(unknown)
    assert "No fine matches" in message(unknown)
    # and the fine's page stays closed to this browser
    assert client.get(f"/services/traffic-fines/{fine_id}", headers=host(town)).status_code == 404


def test_look_ups_are_throttled_per_city_and_client(app, client, town, make_city):
    configure_city(app, town, values={"traffic_fines": {"lookups_per_hour": 3}})
    add_fine(app, town)
    for ticket in ("1", "2", "3"):
        assert look_up(client, town, "浙K12345", ticket).status_code == 404
    assert look_up(client, town, "浙K12345", "4").status_code == 429
    assert look_up(client, town, "浙K12345", "3301001").status_code == 429  # even the right one
    other = make_city("fines-other", locale="en")  # another city counts on its own
    configure_city(app, other, enable=["traffic_fines"])
    assert look_up(client, other, "浙K12345", "1").status_code == 404


def test_another_citys_fine_is_not_found(app, client, town, make_city):
    add_fine(app, town)
    other = make_city("fines-b", locale="en")
    configure_city(app, other, enable=["traffic_fines"])
    assert look_up(client, town, "浙K12345", "3301001").status_code == 302  # found at home
    assert look_up(client, other, "浙K12345", "3301001").status_code == 404


def test_a_disabled_module_answers_404(app, client, make_city):
    tenant = make_city("nofines", locale="en")
    assert client.get("/services/traffic-fines/", headers=host(tenant)).status_code == 404
    # The console asks who is there first, then its staff find no such page.
    assert client.get("/admin/traffic-fines/", headers=host(tenant)).status_code == 302
    signed_in_staff(app, client, tenant)
    assert client.get("/admin/traffic-fines/", headers=host(tenant)).status_code == 404


def test_an_overdue_fine_shows_its_late_fee(app, client, town):
    fine_id = add_fine(app, town, due=date(2020, 1, 1))
    look_up(client, town, "浙K12345", "3301001")
    text = client.get(f"/services/traffic-fines/{fine_id}", headers=host(town)).get_data(
        as_text=True)
    assert "Late fee" in text and "Pay ¥400.00" in text  # capped at 100 %
    with tenant_context(town, app):
        configure(values={"traffic_fines": {"late_fee_percent_per_day": "0.05",
                                            "late_fee_cap_percent": 30}})
        db.session.commit()
        with pytest.raises(ModuleError, match="Give a percentage from 0 to 100"):
            configure(values={"traffic_fines": {"late_fee_percent_per_day": "101"}})
    text = client.get(f"/services/traffic-fines/{fine_id}", headers=host(town)).get_data(
        as_text=True)
    assert "Pay ¥260.00" in text  # 0.05 % a day since 2020, capped at 30 %


# -- paying ---------------------------------------------------------------------------------------

def test_a_fine_is_paid_through_the_sandbox_once_and_shows_its_receipt(app, client, town):
    fine_id = add_fine(app, town, amount_fen=15050)
    look_up(client, town, "浙K12345", "3301001")
    pay = pay_form(client, town, fine_id)
    first = ask_to_pay(client, town, fine_id, pay)
    again = ask_to_pay(client, town, fine_id, pay)
    assert first.headers["Location"] == again.headers["Location"]  # a double click: one payment
    landed = pay_as_asked(client, town, first)
    text = landed.get_data(as_text=True)
    assert "This fine was paid on" in text and "See the receipt" in text
    fine = fine_row(app, town, fine_id)
    assert fine.paid_fen == 15050 and fine.payment_id is not None and fine.paid_by is None
    receipt = re.search(r'href="([^"]+/receipt)"', text).group(1)
    assert client.get(receipt, headers=host(town)).status_code == 200
    # Paying again: nothing new is asked for.
    late = ask_to_pay(client, town, fine_id, {**pay, "idempotency_key": "f" * 32})
    assert late.headers["Location"].endswith(f"/services/traffic-fines/{fine_id}")
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
        figures = {figure.key: figure for figure in discover()["traffic_fines"].figures}
        today = city_today()
        since = today - timedelta(days=6)
        assert figures["fines_paid"].per_day(since, "Asia/Shanghai") == {today: 1}
        assert figures["fines_collected"].per_day(since, "Asia/Shanghai") == {today: 15050}


def test_a_payment_is_described_in_the_language_of_the_page_showing_it(app, client, town):
    fine_id = add_fine(app, town)
    look_up(client, town, "浙K12345", "3301001")
    landed = pay_as_asked(client, town, ask_to_pay(client, town, fine_id))  # made in English
    receipt = re.search(r'href="([^"]+/receipt)"', landed.get_data(as_text=True)).group(1)
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(Payment.description)) == "Traffic fine 3301001"
    client.get("/lang/zh_Hans?next=/", headers=host(town))
    chinese = client.get(receipt, headers=host(town)).get_data(as_text=True)
    assert "Traffic fine" not in chinese
    assert re.search(r"<dd>\s*[^<]*罚[^<]*3301001", chinese), chinese
    # the terms of Chinese government portals: a payment's reference is its 业务编号
    assert "业务编号" in chinese and "支付编号" not in chinese


def test_a_signed_in_citizen_sees_the_fines_they_paid_in_my_account(app, client, town):
    fine_id = add_fine(app, town)
    signed_in_citizen(app, client, town, "driver@example.com")
    look_up(client, town, "浙K12345", "3301001")
    pay_as_asked(client, town, ask_to_pay(client, town, fine_id))
    account = client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert "Traffic fines you paid" in account and "Traffic fine 3301001" in account


def test_a_declined_payment_leaves_the_fine_unpaid(app, client, town):
    fine_id = add_fine(app, town)
    look_up(client, town, "浙K12345", "3301001")
    declined = ask_to_pay(client, town, fine_id)
    pay_as_asked(client, town, declined, decision="decline")
    assert fine_row(app, town, fine_id).paid_at is None
    # …and payable again: a new payment, the declined one no longer holds it.
    again = ask_to_pay(client, town, fine_id)
    assert again.status_code == 302
    assert reference_in(again.location) != reference_in(declined.location)


# -- staff ----------------------------------------------------------------------------------------

def test_staff_filter_by_plate_and_status_and_export(app, client, town):
    signed_in_staff(app, client, town, "police@example.com", role="clerk",
                    modules=["traffic_fines"])
    load(client, town, upload(client, town, (HEADER + GOOD_ROWS).encode()))
    page = client.get("/admin/traffic-fines/?plate=K543", headers=host(town)).get_data(
        as_text=True)
    assert "3301002" in page and "3301001" not in page
    overdue = client.get("/admin/traffic-fines/?status=overdue", headers=host(town))
    assert "3301001" in overdue.get_data(as_text=True)  # its due date (2026-03-16) has passed
    assert "3301001" not in client.get("/admin/traffic-fines/?status=paid",
                                       headers=host(town)).get_data(as_text=True)
    dated = client.get("/admin/traffic-fines/?date_from=2026-03-02&date_to=2026-03-02",
                       headers=host(town)).get_data(as_text=True)
    assert "3301002" in dated and "3301001" not in dated
    export = client.get("/admin/traffic-fines/export.csv?status=unpaid", headers=host(town))
    lines = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert export.mimetype == "text/csv" and lines[0].startswith("ticket_number,")
    assert len(lines) == 3 and "15050" in export.get_data(as_text=True)
    assert client.get("/admin/traffic-fines/?date_from=yesterday",
                      headers=host(town)).status_code == 422


# -- the plate hint ------------------------------------------------------------------------------

def test_the_plate_hint_shows_the_city_s_own_plate_prefix(app, client, town):
    configure_city(app, town, values={"traffic_fines": {"plate_prefix": "粤B"}})
    page = client.get("/services/traffic-fines/", headers=host(town)).get_data(as_text=True)
    assert "粤B12345" in page and "浙K" not in page
    configure_city(app, town, values={"traffic_fines": {"plate_prefix": ""}})
    page = client.get("/services/traffic-fines/", headers=host(town)).get_data(as_text=True)
    assert "浙K" not in page and "the province&#39;s character" in page


def test_a_plate_prefix_that_is_not_one_is_refused(app, town):
    with tenant_context(town, app), pytest.raises(ModuleError) as refused:
        configure(values={"traffic_fines": {"plate_prefix": "ZK"}})
    assert list(refused.value.errors) == ["traffic_fines.plate_prefix"]
