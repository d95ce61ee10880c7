"""Closing an account: what goes (contact data, sign-ins, identities, messages, future
bookings, links) and what stays (payments, case records), in one transaction, once; after
the password, or a fresh sign-in for an account without one. And "Download my data" carries
every module's records of the citizen."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import AccountSession, User
from app.audit.models import AuditEntry
from app.citizen.closing import close
from app.modules.appointments.models import Appointment
from app.modules.service_requests.models import ServiceRequest
from app.modules.utility_bills.models import AccountLink, UtilityAccount
from app.notifications import notify
from app.notifications.models import Notification
from app.oidc.models import OidcProvider, UserIdentity
from app.payments import Payment
from app.staff.models import StaffMember
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    book,
    booked_places,
    local,
    set_up_hospital,
    tomorrow,
)
from tests.app.modules.service_requests.service_requests_support import (
    enable_service_requests,
    report,
    tracking_number_of,
)
from tests.app.payments.payments_support import new_payment
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen
from tests.support.cities import PASSWORD, configure_city, host, post_form

pytestmark = pytest.mark.usefixtures("uploads")
EMAIL = "leaving@example.com"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("closing", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["appointments", "utility_bills"])
    enable_service_requests(app, tenant)
    return tenant


@pytest.fixture()
def citizen(app, client, town):
    """A signed-in citizen with a booking to come, a report, a linked utility account, a
    paid-for payment, a message, a sign-in identity and a second signed-in device."""
    user_id = signed_in_citizen(app, client, town, EMAIL)
    place = set_up_hospital(app, town)
    starts_at = local(tomorrow(), 9)
    reference = book(app, town, user_id, place.department, starts_at, place.doctor)
    number = tracking_number_of(report(client, town))
    signed_in_citizen_again = app.test_client()
    post_form(signed_in_citizen_again, town, "/account/login",
              {"identifier": EMAIL, "password": PASSWORD})
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        user.display_name, user.mobile = "Wang Fang", "13800001111"
        db.session.execute(sa.update(ServiceRequest).values(
            contact_name="Wang Fang", contact_phone="13800001111"))
        account = UtilityAccount(account_number="W-1", kind="water", holder_surname="WANG")
        provider = OidcProvider(key="idp", display_name="IdP", issuer="https://idp.example",
                                client_id="c", client_secret_encrypted="x")
        db.session.add_all([account, provider])
        db.session.flush()
        db.session.add_all([AccountLink(user_id=user_id, account_id=account.id),
                            UserIdentity(provider_id=provider.id, subject="s-1",
                                         user_id=user_id, email=EMAIL)])
        notify(user, "password_changed")
        db.session.commit()
        user.is_authenticated  # noqa: B018  (loaded before the session closes)
        db.session.expunge(user)
    payment = new_payment(app, town, ((1, 800),), user=user)
    return {"id": user_id, "reference": reference, "number": number, "place": place,
            "starts_at": starts_at, "payment": payment.reference,
            "other_device": signed_in_citizen_again}


def _close_page(client, town):
    page = client.get("/account/close", headers=host(town))
    assert page.status_code == 200
    return page


def _ask_to_close(client, town, password=PASSWORD, understood="y"):
    page = _close_page(client, town)
    return client.post("/account/close", headers=host(town), data={
        "csrf_token": form_token(page), "password": password, "understood": understood})


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_my_account_links_to_closing_which_says_what_is_deleted_and_kept(app, client, town,
                                                                          citizen):
    assert "/account/close" in client.get("/account/", headers=host(town)).get_data(
        as_text=True)
    text = _close_page(client, town).get_data(as_text=True)
    assert "What is deleted" in text and "What is kept, and why" in text
    assert "accounting records, which the law requires" in text
    assert 'autocomplete="current-password"' in text


def test_closing_removes_personal_data_keeps_records_and_frees_the_email(app, client, town,
                                                                         citizen):
    place = citizen["place"]
    assert booked_places(app, town, place.doctor_schedule, citizen["starts_at"]) == 1
    response = _ask_to_close(client, town)
    assert response.status_code == 302 and response.location.endswith("/")
    with tenant_context(town, app):
        user = db.session.get(User, citizen["id"])
        assert (user.email, user.mobile, user.password_hash, user.display_name) == (
            None, None, None, "")
        assert not user.active and user.closed_at is not None
        for model in (AccountSession, UserIdentity, Notification, AccountLink):
            assert _count(model, model.user_id == user.id) == 0, model
        booking = db.session.scalar(sa.select(Appointment).where(
            Appointment.reference == citizen["reference"]))
        assert booking.status == "cancelled" and booking.cancelled_by == "citizen"
        kept = db.session.scalar(sa.select(ServiceRequest))
        assert kept.user_id == user.id and kept.description == "A deep hole"
        assert (kept.contact_name, kept.contact_email, kept.contact_phone) == ("", "", "")
        assert db.session.scalar(sa.select(Payment.user_id).where(
            Payment.reference == citizen["payment"])) == user.id
        assert db.session.scalar(sa.select(UtilityAccount.account_number)) == "W-1"
        (entry,) = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "account.close")).all()
        assert entry.target == f"user:{user.id}" and EMAIL in entry.actor
    assert booked_places(app, town, place.doctor_schedule, citizen["starts_at"]) == 0
    # signed out here and on the other device; it can't sign in again, but the address can
    for browser in (client, citizen["other_device"]):
        assert browser.get("/account/", headers=host(town)).status_code == 302
    assert post_form(client, town, "/account/login",
                     {"identifier": EMAIL, "password": PASSWORD}).status_code == 401
    signed_in_citizen(app, app.test_client(), town, EMAIL)  # a new account, same address


def test_a_wrong_password_or_no_tick_changes_nothing(app, client, town, citizen):
    wrong = _ask_to_close(client, town, password="not-the-password")
    assert wrong.status_code == 401 and "That is not your password." in wrong.get_data(
        as_text=True)
    unticked = _ask_to_close(client, town, understood="")
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.get_data(as_text=True)
    with tenant_context(town, app):
        user = db.session.get(User, citizen["id"])
        assert user.email == EMAIL and user.active and user.closed_at is None
        assert _count(AccountSession, AccountSession.user_id == user.id) == 2
        assert _count(UserIdentity, UserIdentity.user_id == user.id) == 1
        assert db.session.scalar(sa.select(Appointment.status)) == "booked"
        assert _count(AuditEntry, AuditEntry.action == "account.close") == 0
    assert client.get("/account/", headers=host(town)).status_code == 200


def test_an_account_without_a_password_needs_a_fresh_sign_in(app, client, town, citizen):
    with tenant_context(town, app):
        db.session.execute(sa.update(User).where(User.id == citizen["id"]).values(
            password_hash=None))
        db.session.execute(sa.update(AccountSession).values(
            created_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
    stale = client.get("/account/close", headers=host(town)).get_data(as_text=True)
    assert "sign in again" in stale and 'name="password"' not in stale
    refused = client.post("/account/close", headers=host(town), data={
        "csrf_token": form_token(client.get("/account/", headers=host(town))),
        "understood": "y"})
    assert refused.status_code == 422
    with tenant_context(town, app):
        assert db.session.get(User, citizen["id"]).closed_at is None
        db.session.execute(sa.update(AccountSession).values(created_at=datetime.now(UTC)))
        db.session.commit()
    assert _ask_to_close(client, town, password="").status_code == 302
    with tenant_context(town, app):
        assert db.session.get(User, citizen["id"]).closed_at is not None


def test_a_staff_member_is_sent_to_the_administrators(app, client, town, citizen):
    with tenant_context(town, app):
        db.session.add(StaffMember(user_id=citizen["id"], role="admin"))
        db.session.commit()
    refused = client.get("/account/close", headers=host(town))
    assert refused.status_code == 403 and "administrators" in refused.get_data(as_text=True)
    with tenant_context(town, app):
        assert db.session.get(User, citizen["id"]).active


def test_two_close_requests_at_once_act_once(app, town, citizen):
    results, errors, start = [], [], threading.Barrier(2)

    def close_it():
        start.wait()
        try:
            with tenant_context(town, app):
                results.append(close(db.session.get(User, citizen["id"])))
                db.session.commit()
        except Exception as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)

    threads = [threading.Thread(target=close_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [False, True]
    with tenant_context(town, app):
        assert _count(AuditEntry, AuditEntry.action == "account.close") == 1
        assert _count(AuditEntry, AuditEntry.action ==
                      "appointments.cancel_on_account_closed") == 1
    assert booked_places(app, town, citizen["place"].doctor_schedule,
                         citizen["starts_at"]) == 0


def test_download_my_data_carries_every_module_s_records(app, client, town, citizen):
    data = client.get("/account/data.json", headers=host(town)).get_json()
    services = data["services"]
    (booking,) = services["appointments"]
    assert booking["reference"] == citizen["reference"] and booking["status"] == "booked"
    assert booking["hospital"] == "City Hospital" and booking["patient_name"] == "Zhang San"
    assert datetime.fromisoformat(booking["starts_at"]) == citizen["starts_at"]
    (reported,) = services["service_requests"]
    assert reported["tracking_number"] == citizen["number"]
    assert reported["category"] == "pothole" and reported["contact_phone"] == "13800001111"
    assert services["utility_bills"] == [{"kind": "water", "account_number": "W-1"}]
    assert services["passports"] == [] and services["traffic_fines"] == []
    assert [payment["reference"] for payment in data["payments"]] == [citizen["payment"]]
