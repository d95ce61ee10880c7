""""My account": every payment with its receipt, every notification linking to what it is
about (and only ever within the city's site), a page at a time."""
import re
import secrets

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.citizen.records import PAGE_SIZE
from app.notifications import notify
from app.notifications.models import Notification
from app.notifications.service import page_path
from app.payments import PaymentItemRequest, request_payment
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.traffic_fines.test_traffic_fines import add_fine
from tests.app.payments.payments_support import new_payment, pay_through_the_sandbox
from tests.support.accounts import signed_in_citizen
from tests.support.cities import configure_city, host


@pytest.fixture()
def town(make_city):
    return make_city("mine", locale="en")


def _user(app, town, user_id) -> User:
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _page(client, town, path) -> str:
    response = client.get(path, headers=host(town))
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# -- payments --------------------------------------------------------------------------------

def test_my_account_lists_every_payment_newest_first_with_receipts_of_the_paid_ones(
        app, client, town):
    user = _user(app, town, signed_in_citizen(app, client, town, "payer@example.com"))
    new_payment(app, town, ((900, 100),), user=_user(app, town, signed_in_citizen(
        app, app.test_client(), town, "someone@example.com")))  # not this citizen's
    made = [new_payment(app, town, ((item, 100 + item),), user=user)
            for item in range(1, PAGE_SIZE + 2)]
    pay_through_the_sandbox(client, town, made[-1].reference)

    account = _page(client, town, "/account/")
    assert "/account/payments" in account and made[-1].reference in account
    assert made[0].reference not in account  # only the latest few here
    first = _page(client, town, "/account/payments")
    shown = re.findall(r'href="/payments/([^"/]+)"', first)
    assert shown == [payment.reference for payment in reversed(made)][:PAGE_SIZE]
    receipts = re.findall(r'href="/payments/([^"/]+)/receipt"', first)
    assert receipts == [made[-1].reference]  # the unpaid ones have none
    assert "¥1.21" in first and 'rel="next"' in first
    second = _page(client, town, "/account/payments?page=2")
    assert re.findall(r'href="/payments/([^"/]+)"', second) == [made[0].reference]
    assert 'rel="next"' not in second and "/payments/" + made[-1].reference not in second
    assert "There are no more payments." in _page(client, town, "/account/payments?page=9")

    receipt = _page(client, town, f"/payments/{made[-1].reference}/receipt")
    assert town.display_name("en") in receipt and 'class="receipt"' in receipt
    assert "no-print" in receipt  # the print style sheet hides the page's links


def test_payments_and_notifications_pages_need_a_signed_in_citizen(client, town):
    for path in ("/account/payments", "/account/notifications"):
        response = client.get(path, headers=host(town))
        assert response.status_code == 302 and "/account/login" in response.location


# -- notifications ----------------------------------------------------------------------------

@pytest.mark.parametrize("link", [
    "https://evil.example/account/",
    "//evil.example/account/",
    "http://mine.example.gov.evil.example/x",
    "javascript:alert(1)",
    "data:text/html,hi",
    "/\\evil.example",
    "/account/\nSet-Cookie: x",
    "http://[::1/x",
    "relative/path",
    "/" + "x" * 600,
])
def test_a_link_off_the_city_s_site_is_no_notification_link(app, town, link):
    with tenant_context(town, app):
        assert page_path(link) is None


def test_a_link_of_the_city_s_own_site_keeps_its_path_and_query(app, town):
    with tenant_context(town, app):
        domain = town.domains[0]
        assert page_path(f"http://{domain}:5000/payments/P1?x=1") == "/payments/P1?x=1"
        assert page_path(f"https://{domain.upper()}./account/") == "/account/"
        assert page_path("/services/passports/3") == "/services/passports/3"


def test_notifications_link_to_what_they_concern_a_page_at_a_time(app, client, town):
    user_id = signed_in_citizen(app, client, town, "told@example.com")
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        for number in range(PAGE_SIZE + 1):
            notify(user, "password_changed",
                   link=f"http://{town.domains[0]}/account/?n={number}")
        notify(user, "password_changed", link="https://evil.example/steal")
        # a row from before notifications had links, and one changed behind our back
        db.session.add_all([
            Notification(user_id=user_id, event="old", channel="email",
                         recipient=user.email, locale="en", subject="Old news", body="."),
            Notification(user_id=user_id, event="old", channel="email", path="//evil.example",
                         recipient=user.email, locale="en", subject="Tampered", body=".")])
        db.session.commit()
        assert db.session.scalar(sa.select(Notification.path).where(
            Notification.event == "password_changed").order_by(Notification.id.desc())
            .limit(1)) is None

    account = _page(client, town, "/account/")
    assert "/account/notifications" in account
    first = _page(client, town, "/account/notifications")
    assert "Old news" in first and "Tampered" in first
    assert "evil.example" not in first
    links = re.findall(r'href="/account/\?n=(\d+)"', first)
    # the newest 20: the two old rows, the one with its link dropped, and 17 linked
    assert links == [str(number) for number in range(PAGE_SIZE, 3, -1)]
    second = _page(client, town, "/account/notifications?page=2")
    assert re.findall(r'href="/account/\?n=(\d+)"', second) == ["3", "2", "1", "0"]


def test_a_module_s_notification_links_to_its_page(app, client, town):
    """Paying: the "payment received" message links to the payment."""
    user = _user(app, town, signed_in_citizen(app, client, town, "paid@example.com"))
    payment = new_payment(app, town, ((1, 500),), user=user)
    pay_through_the_sandbox(client, town, payment.reference)
    with tenant_context(town, app):
        assert db.session.scalars(sa.select(Notification.path).where(
            Notification.user_id == user.id)).all() == [f"/payments/{payment.reference}"]
    assert f'href="/payments/{payment.reference}"' in _page(client, town,
                                                            "/account/notifications")


def _statements(app, client, town, path) -> tuple[int, str]:
    """How many SQL statements on payments and what they pay for showing `path` sent, and the
    page (the engine's other statements, such as the city directory's polling from another
    thread, are not the page's)."""
    with app.app_context():
        engine = db.engine
    sent = []

    def count(_connection, _cursor, statement, *_args):
        if ".payment" in statement or ".traffic_fines" in statement:
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = _page(client, town, path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(sent), page


def test_a_list_of_payments_asks_as_much_of_the_database_however_long_it_is(
        app, client, make_city):
    town = make_city("finespaid", locale="en")
    configure_city(app, town, enable=["traffic_fines"])
    user_id = signed_in_citizen(app, client, town, "payer@example.com")

    def pay_fines(tickets):
        for ticket in tickets:
            fine_id = add_fine(app, town, ticket=ticket)
            with tenant_context(town, app):
                request_payment("traffic_fine", [PaymentItemRequest(fine_id, 20000, "fine")],
                                "fine", db.session.get(User, user_id), secrets.token_hex(8))
                db.session.commit()

    pay_fines(["3300001", "3300002"])
    _page(client, town, "/account/payments")  # the city's caches warm
    few, _shown = _statements(app, client, town, "/account/payments")
    pay_fines([f"33001{number:02d}" for number in range(8)])
    many, shown = _statements(app, client, town, "/account/payments")
    assert many == few  # not a query or two more per payment
    assert "Traffic fine 3300107" in shown and "Traffic fine 3300001" in shown  # from the fines
