"""Utility bills: staff load accounts and bills (the shared CSV import); a signed-in citizen
links an account with the holder's surname, sees its bills and pays several in one payment;
nobody else sees or pays them."""
import pytest
import sqlalchemy as sa

from app.city_time import city_today
from app.modules import ModuleError, configure, discover, settings_of
from app.modules.utility_bills.models import AccountLink, UtilityBill
from app.payments import Payment
from tenants.context import tenant_context
from tenants.db import db
from tests.app.i18n.test_i18n import english_left_on
from tests.app.payments.payments_support import idempotency_key, pay_as_asked
from tests.app.spreadsheets.test_imports import load, upload
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import configure_city, host, post_form

ACCOUNTS = ("户号,类型,户主姓氏,地址\n"
            "W-1001,water,王,莲都区花园路1号\n"
            "E-2002,electricity,Wang,莲都区花园路1号\n"
            "G-3003,gas,李,莲都区人民街5号\n")
BILLS = ("bill number,account number,period,amount,due date\n"
         "B1,W-1001,2026-02,35.20,2099-03-20\n"
         "B2,W-1001,2026/3,41.80,2099-04-20\n"
         "B3,E-2002,202603,120.05,2099-04-25\n"
         "B4,G-3003,2026年3月,60,2099-04-25\n")


@pytest.fixture()
def town(app, client, make_city):
    """A city with the module, its accounts and bills loaded by a clerk (then signed out)."""
    tenant = make_city("bills", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["utility_bills"])
    staff = app.test_client()
    signed_in_staff(app, staff, tenant, "clerk@example.com", role="clerk",
                    modules=["utility_bills"])
    load(staff, tenant, upload(staff, tenant, ACCOUNTS.encode("gb18030"),
                               "/admin/utility-bills/accounts/import"))
    load(staff, tenant, upload(staff, tenant, BILLS.encode(), "/admin/utility-bills/bills/import"))
    return tenant


@pytest.fixture()
def citizen(app, client, town):
    return signed_in_citizen(app, client, town, "resident@example.com")


def link(client, town, number, surname):
    return post_form(client, town, "/services/utility-bills/link",
                     {"account_number": number, "surname": surname})


def bill_ids(app, town) -> dict[str, int]:
    with tenant_context(town, app):
        return dict(db.session.execute(sa.select(UtilityBill.bill_number, UtilityBill.id)).all())


def bill(app, town, number) -> UtilityBill:
    with tenant_context(town, app):
        row = db.session.scalar(sa.select(UtilityBill).where(UtilityBill.bill_number == number))
        db.session.expunge_all()
        return row


def pay_bills(client, town, ids, page="/services/utility-bills/"):
    """Post the pay form of `page` (a key of our own where the page shows no form)."""
    form = client.get(page, headers=host(town))
    return client.post("/services/utility-bills/pay", headers=host(town), data={
        "csrf_token": form_token(form), "idempotency_key": idempotency_key(form) or "k" * 32,
        "bills": ids})


def test_bills_of_an_account_that_is_not_loaded_are_refused(app, client, town):
    signed_in_staff(app, client, town, "clerk2@example.com", role="clerk",
                    modules=["utility_bills"])
    content = "bill number,account number,period,amount,due date\nB9,X-9,2026-03,10,2099-01-01\n"
    page = upload(client, town, content.encode(), "/admin/utility-bills/bills/import")
    assert "Account X-9 is not loaded" in page.get_data(as_text=True)
    assert bill(app, town, "B9") is None
    assert bill(app, town, "B2").period == "2026-03" and bill(app, town, "B3").amount_fen == 12005


def test_an_account_kind_the_city_does_not_have_is_refused(app, client, town):
    signed_in_staff(app, client, town, "clerk3@example.com", role="clerk",
                    modules=["utility_bills"])
    content = "account number,kind,surname\nH-1,heating,王\nW-2,Water,王\n"
    page = upload(client, town, content.encode(),
                  "/admin/utility-bills/accounts/import").get_data(as_text=True)
    assert "Not one of the city&#39;s kinds: water, electricity, gas" in page
    assert "<td>2</td>" in page and "<td>3</td>" not in page  # a kind in capitals is fine


def test_linking_needs_the_right_surname(app, client, town, citizen):
    wrong = link(client, town, "W-1001", "李")
    unknown = link(client, town, "W-9999", "王")
    assert wrong.status_code == unknown.status_code == 404
    assert "do not match an account" in wrong.get_data(as_text=True)
    assert "do not match an account" in unknown.get_data(as_text=True)
    right = link(client, town, " w-1001 ", " 王 ")
    assert right.status_code == 302
    assert link(client, town, "E-2002", "WANG").status_code == 302  # case does not matter
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountLink)) == 2
    page = client.get("/services/utility-bills/", headers=host(town)).get_data(as_text=True)
    assert "W-1001" in page and "E-2002" in page and "G-3003" not in page
    assert "Your utility accounts" in client.get("/account/", headers=host(town)).get_data(
        as_text=True)


def test_linking_attempts_are_throttled(app, client, town, citizen):
    configure_city(app, town, values={"utility_bills": {"link_attempts_per_hour": 2}})
    assert link(client, town, "W-1001", "张").status_code == 404
    assert link(client, town, "W-1001", "赵").status_code == 404
    assert link(client, town, "W-1001", "王").status_code == 429


def test_signed_out_visitors_are_sent_to_sign_in(client, town):
    response = client.get("/services/utility-bills/", headers=host(town))
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_several_bills_are_paid_in_one_payment(app, client, town, citizen):
    link(client, town, "W-1001", "王")
    link(client, town, "E-2002", "Wang")
    ids = bill_ids(app, town)
    landed = pay_as_asked(client, town, pay_bills(client, town, [ids["B1"], ids["B3"]]))
    assert landed.status_code == 200
    first, third, second = (bill(app, town, number) for number in ("B1", "B3", "B2"))
    assert first.payment_id == third.payment_id is not None and second.paid_at is None
    assert (first.paid_fen, third.paid_fen) == (3520, 12005) and first.paid_by == citizen
    with tenant_context(town, app):
        payment = db.session.get(Payment, first.payment_id)
        assert payment.amount_fen == 3520 + 12005 and len(payment.items) == 2
        figures = {figure.key: figure for figure in discover()["utility_bills"].figures}
        today = city_today()
        assert figures["bills_paid"].per_day(today, "Asia/Shanghai") == {today: 2}
        assert figures["bills_collected"].per_day(today, "Asia/Shanghai") == {today: 15525}
    page = client.get("/services/utility-bills/", headers=host(town)).get_data(as_text=True)
    assert f'value="{ids["B2"]}"' in page and f'value="{ids["B1"]}"' not in page


def test_a_paid_bill_cannot_be_paid_again(app, client, town, citizen):
    link(client, town, "W-1001", "王")
    ids = bill_ids(app, town)
    form = client.get("/services/utility-bills/", headers=host(town))
    pay_as_asked(client, town, pay_bills(client, town, [ids["B1"]]))
    stale = client.post("/services/utility-bills/pay", headers=host(town), data={
        "csrf_token": form_token(form), "idempotency_key": "a" * 32, "bills": [ids["B1"]]})
    assert stale.status_code == 422  # no longer an open bill to choose
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_another_citizens_account_and_bills_are_out_of_reach(app, client, town, citizen):
    link(client, town, "W-1001", "王")
    with tenant_context(town, app):
        account_id = db.session.scalar(sa.select(AccountLink.account_id))
    assert client.get(f"/services/utility-bills/accounts/{account_id}",
                      headers=host(town)).status_code == 200
    other = app.test_client()
    signed_in_citizen(app, other, town, "neighbour@example.com")
    assert other.get(f"/services/utility-bills/accounts/{account_id}",
                     headers=host(town)).status_code == 404
    assert pay_bills(other, town, [bill_ids(app, town)["B1"]]).status_code == 422
    assert bill(app, town, "B1").paid_at is None


def test_staff_see_accounts_and_bills_and_export_them(app, client, town):
    signed_in_staff(app, client, town, "reader@example.com", role="clerk",
                    modules=["utility_bills"])
    accounts = client.get("/admin/utility-bills/accounts?kind=water", headers=host(town))
    assert "W-1001" in accounts.get_data(as_text=True)
    assert "E-2002" not in accounts.get_data(as_text=True)
    bills = client.get("/admin/utility-bills/?account=W-1001&status=unpaid", headers=host(town))
    assert "B1" in bills.get_data(as_text=True) and "B3" not in bills.get_data(as_text=True)
    export = client.get("/admin/utility-bills/export.csv?period=2026-03", headers=host(town))
    rows = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0].startswith("bill_number,") and len(rows) == 4
    accounts_csv = client.get("/admin/utility-bills/accounts/export.csv", headers=host(town))
    assert "G-3003,gas,李" in accounts_csv.get_data(as_text=True)


def test_a_disabled_module_answers_404(app, client, make_city):
    tenant = make_city("nobills", locale="en")
    assert client.get("/services/utility-bills/", headers=host(tenant)).status_code == 404
    # The console asks who is there first, then its staff find no such page.
    assert client.get("/admin/utility-bills/", headers=host(tenant)).status_code == 302
    signed_in_staff(app, client, tenant)
    assert client.get("/admin/utility-bills/", headers=host(tenant)).status_code == 404


def test_the_pages_of_both_modules_speak_chinese_in_a_chinese_city(app, client, make_city):
    """Citizen and staff pages of fines and bills, in a zh city: no English left."""
    from tests.app.spreadsheets.test_imports import GOOD_ROWS as FINES
    from tests.app.spreadsheets.test_imports import HEADER as FINES_HEADER

    tenant = make_city("zhbills", timezone="Asia/Shanghai")  # the default language: zh
    configure_city(app, tenant, enable=["utility_bills", "traffic_fines"])
    signed_in_staff(app, client, tenant, "zhclerk@example.com", role="clerk",
                    modules=["utility_bills", "traffic_fines"])
    pages = [upload(client, tenant, ACCOUNTS.encode(), "/admin/utility-bills/accounts/import")]
    load(client, tenant, pages[0])
    pages.append(upload(client, tenant, (FINES_HEADER + FINES + "x,y\n").encode()))
    load(client, tenant, upload(client, tenant, (FINES_HEADER + FINES).encode()))
    load(client, tenant, upload(client, tenant, BILLS.encode(),
                                "/admin/utility-bills/bills/import"))
    for path in ("/admin/traffic-fines/", "/admin/traffic-fines/import", "/admin/utility-bills/",
                 "/admin/utility-bills/accounts"):
        pages.append(client.get(path, headers=host(tenant)))
    resident = app.test_client()
    signed_in_citizen(app, resident, tenant, "zh@example.com")
    link(resident, tenant, "W-1001", "王")
    pages.append(link(resident, tenant, "W-1001", "李"))
    with tenant_context(tenant, app):
        account_id = db.session.scalar(sa.select(AccountLink.account_id))
    for path in ("/services/utility-bills/", f"/services/utility-bills/accounts/{account_id}",
                 "/account/", "/services/traffic-fines/"):
        pages.append(resident.get(path, headers=host(tenant)))
    pages.append(post_form(resident, tenant, "/services/traffic-fines/",
                           {"plate_number": "浙K1", "ticket_number": "0"}))
    found = post_form(resident, tenant, "/services/traffic-fines/",
                      {"plate_number": "浙K12345", "ticket_number": "3301001"})
    pages.append(resident.get(found.headers["Location"], headers=host(tenant)))
    # Each page as expected: the wrong name and the unknown ticket are refused with 404.
    assert [page.status_code for page in pages] == [200] * 6 + [404] + [200] * 4 + [404, 200]
    for page in pages:
        assert english_left_on(page.get_data(as_text=True)) == [], page.request.path


def test_a_citys_own_kinds_are_named_in_both_languages(app, client, town, citizen):
    configure_city(app, town, values={"utility_bills": {
        "utility_kinds": "water, electricity, gas, heating",
        "kind_names": "heating | 供暖 | \nwater | 自来水 | Tap water"}})
    staff = app.test_client()
    signed_in_staff(app, staff, town, "clerk4@example.com", role="clerk",
                    modules=["utility_bills"])
    load(staff, town, upload(staff, town, "户号,类型,户主姓氏\nH-1,heating,王\n".encode(),
                             "/admin/utility-bills/accounts/import"))
    assert link(client, town, "H-1", "王").status_code == 302
    assert link(client, town, "W-1001", "王").status_code == 302
    page = client.get("/services/utility-bills/", headers=host(town)).get_data(as_text=True)
    assert "供暖 · H-1" in page and "Tap water · W-1001" in page  # English, else the Chinese
    client.get("/lang/zh_Hans", headers=host(town))
    page = client.get("/services/utility-bills/", headers=host(town)).get_data(as_text=True)
    assert "供暖 · H-1" in page and "自来水 · W-1001" in page


@pytest.mark.parametrize(("names", "problem"), [
    ("heating | 供暖", "Line 1: write the kind"),
    ("\nHeating | 供暖 | Heating", "Line 2: write the kind"),
    ("heating |  | ", "Line 1: write the kind"),
    ("heating | 供暖 | " + "x" * 41, "Line 1: write the kind"),
    ("heating | 供\x00暖 | Heating", "Line 1: write the kind"),
    ("cooling | 供冷 | Cooling", "Not one of the kinds above: cooling"),
])
def test_wrong_kind_names_are_refused_and_change_nothing(app, town, names, problem):
    with pytest.raises(ModuleError, match=problem), tenant_context(town, app):
        configure(values={"utility_bills": {"utility_kinds": "water, heating",
                                            "kind_names": names}})
    with tenant_context(town, app):
        assert settings_of("utility_bills")["kind_names"] == ""


def test_a_wrong_list_of_kinds_is_refused_in_words(app, town):
    with pytest.raises(ModuleError, match="Give kinds such as: water, electricity, gas"), \
            tenant_context(town, app):
        configure(values={"utility_bills": {"utility_kinds": "Water!"}})
