"""Hospital appointments through the REST API, over HTTP against PostgreSQL: the public
catalogue (hospitals, bookable times), the citizen's bookings (list with filters, one, book,
cancel) with their scopes, the same checks, audit entries and notifications as the pages, and
the refusals (another citizen's booking, another city's token, a disabled module)."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.modules.appointments.models import Appointment
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    ID_NUMBER,
    enable,
    local,
    patient_id,
    set_up_hospital,
    tomorrow,
)
from tests.app.modules.appointments.test_appointments_pages import (
    book_link,
    post_booking,
)
from tests.support.accounts import signed_in_citizen
from tests.support.cities import audit_entries, configure_city, host
from tests.support.oauth import add_client, bearer, citizen_token

BASE = "/api/v1/appointments"
BOTH = "bookings:read bookings:write"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("apicare", locale="en", timezone="Asia/Shanghai")
    enable(app, tenant)
    return tenant


@pytest.fixture()
def place(app, town):
    return set_up_hospital(app, town)


def token_of(app, town, email, scope=BOTH, client=None):
    """A citizen signed in with a browser `client` who let an app act with `scope`: (user id,
    access token, the browser)."""
    client = client or app.test_client()
    client_id, _ = add_client(app, town, scopes=tuple(BOTH.split()))
    user_id = signed_in_citizen(app, client, town, email)
    return user_id, citizen_token(app, client, town, client_id, scope)["access_token"], client


def new_booking(place, hour=9, id_number=ID_NUMBER, **changes) -> dict:
    return {"department_id": place.department, "doctor_id": place.doctor,
            "starts_at": local(tomorrow(), hour).isoformat(), "patient_name": "Zhang San",
            "id_number": id_number, "phone": "138 1234 5678", **changes}


def post_booking_api(app, town, token, body, key=None):
    return app.test_client().post(f"{BASE}/bookings", json=body, headers=bearer(
        town, token, **{"Idempotency-Key": key or uuid.uuid4().hex}))


def test_the_catalogue_lists_hospitals_and_free_times_without_a_token(app, town, place):
    api = app.test_client()
    hospitals = api.get(f"{BASE}/hospitals", headers=host(town))
    assert hospitals.status_code == 200 and hospitals.headers["X-Total-Count"] == "1"
    [hospital] = hospitals.get_json()
    assert hospital["name"] == "City Hospital"
    assert [d["name"] for d in hospital["departments"]] == ["Cardiology", "Dermatology"]
    assert {d["name"] for d in hospital["departments"][0]["doctors"]} == {"Dr Li", "Dr Wang"}
    in_chinese = api.get(f"{BASE}/hospitals", headers={**host(town), "Accept-Language": "zh"})
    assert in_chinese.get_json()[0]["name"] == "市医院"

    day = tomorrow().isoformat()
    times = api.get(f"{BASE}/departments/{place.department}/slots?date_from={day}"
                    f"&date_to={day}&doctor_id={place.doctor}", headers=host(town))
    assert times.status_code == 200, times.get_data(as_text=True)
    starts = [entry["starts_at"] for entry in times.get_json()]
    assert starts[0] == local(tomorrow(), 8).isoformat() and len(starts) == 8  # 08:00-12:00
    assert {entry["free"] for entry in times.get_json()} == {3}
    assert times.headers["ETag"]
    later = api.get(f"{BASE}/departments/{place.department}/slots?date_from="
                    f"{(tomorrow() + timedelta(days=5 * 365)).isoformat()}",
                    headers=host(town))
    assert later.status_code == 200 and later.get_json() == []  # beyond the horizon
    missing = api.get(f"{BASE}/departments/{2**62}/slots", headers=host(town))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    wrong = api.get(f"{BASE}/departments/{place.department}/slots?date_from=tomorrow",
                    headers=host(town))
    assert wrong.status_code == 422 and "date_from" in wrong.get_json()["errors"]["query"]


def test_booking_makes_the_same_records_as_the_page_and_one_booking_per_key(
        app, client, town, place):
    """The API's booking and the page's: the same audit action and snapshot, notification and
    webhook-free checks; the same Idempotency-Key twice makes one booking."""
    enable(app, town, one_per_department_per_day=False, max_active_per_citizen=5)
    user_id, token, browser = token_of(app, town, "api-patient@example.com")
    page = post_booking(browser, town, book_link(town, place, hour=10), {
        "patient_name": "Zhang San", "id_number": ID_NUMBER, "phone": "13812345678"})
    assert page.status_code == 302

    key = uuid.uuid4().hex
    first = post_booking_api(app, town, token, new_booking(place), key)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = post_booking_api(app, town, token, new_booking(place), key)
    assert again.status_code == 201
    assert first.get_json()["reference"] == again.get_json()["reference"]
    made = first.get_json()
    assert made["status"] == "booked" and made["doctor"] == "Dr Li"
    assert made["starts_at"] == local(tomorrow(), 9).isoformat()  # as the slots list says
    assert made["id_number"].endswith(ID_NUMBER[-4:]) and ID_NUMBER not in first.get_data(
        as_text=True)
    assert made["phone"] == "13812345678" and made["changeable"] is True

    with tenant_context(town, app):
        rows = db.session.scalars(sa.select(Appointment).where(
            Appointment.user_id == user_id).order_by(Appointment.id)).all()
        assert len(rows) == 2  # the page's and one of the API's
        events = db.session.scalars(sa.select(Notification.event).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
    assert events == ["appointment_booked", "appointment_booked"]
    by_page, by_api = audit_entries(app, town, "appointments.book")
    assert by_api.target == made["reference"]
    assert set(by_api.after) == set(by_page.after)
    assert by_api.actor.startswith(f"user:{user_id}:") and "via oauth-client:" in by_api.actor


def test_the_limits_hold_through_the_api_per_patient(app, town, place):
    """The per-patient rule counts the page's and the API's bookings alike: a second booking
    in the department on the same day for the same patient is refused (409), from another
    account too; bad input is 422 with what to fix, and changes nothing."""
    _, token, _ = token_of(app, town, "one@example.com")
    _, other_token, _ = token_of(app, town, "two@example.com")
    assert post_booking_api(app, town, token, new_booking(place, hour=8)).status_code == 201
    refused = post_booking_api(app, town, other_token, new_booking(place, hour=9))
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == ("You already have an appointment in this "
                                            "department on this day.")
    in_chinese = app.test_client().post(f"{BASE}/bookings", json=new_booking(place, hour=9),
                                        headers=bearer(town, other_token, **{
                                            "Idempotency-Key": uuid.uuid4().hex,
                                            "Accept-Language": "zh-CN"}))
    assert in_chinese.status_code == 409 and in_chinese.content_type == (
        "application/problem+json")
    assert in_chinese.get_json()["detail"] == "您当天在该科室已有预约。"
    assert in_chinese.headers["Content-Language"] == "zh-Hans"
    bad = post_booking_api(app, town, other_token, new_booking(
        place, id_number="110105194912310021", phone="12345"))
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]["json"]
    assert "ID card number" in errors["id_number"][0] and "mobile" in errors["phone"][0]
    no_slot = post_booking_api(app, town, other_token, new_booking(
        place, hour=7, id_number=patient_id(7)))
    assert no_slot.status_code == 409
    no_key = app.test_client().post(f"{BASE}/bookings", json=new_booking(place),
                                    headers=bearer(town, other_token))
    assert no_key.status_code == 422 and "Idempotency-Key" in no_key.get_json()["errors"][
        "headers"]
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def test_the_citizen_lists_filters_reads_and_cancels_their_own_bookings(app, town, place):
    user_id, token, _ = token_of(app, town, "mine@example.com")
    _, other_token, _ = token_of(app, town, "theirs@example.com")
    enable(app, town, one_per_department_per_day=False, max_active_per_citizen=5)
    references = [post_booking_api(app, town, token, new_booking(place, hour=hour)).get_json()[
        "reference"] for hour in (8, 9)]
    theirs = post_booking_api(app, town, other_token, new_booking(
        place, hour=10, id_number=patient_id(5))).get_json()["reference"]
    api = app.test_client()

    listed = api.get(f"{BASE}/bookings", headers=bearer(town, token))
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert [b["reference"] for b in listed.get_json()] == references[::-1]  # latest first
    assert theirs not in listed.get_data(as_text=True)
    assert api.get(f"{BASE}/bookings/{theirs}", headers=bearer(town, token)).status_code == 404
    refused = api.post(f"{BASE}/bookings/{theirs}/cancel", headers=bearer(town, token))
    assert refused.status_code == 404

    cancelled = api.post(f"{BASE}/bookings/{references[0]}/cancel",
                         headers=bearer(town, token))
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["cancelled_by"] == "citizen"
    twice = api.post(f"{BASE}/bookings/{references[0]}/cancel", headers=bearer(town, token))
    assert twice.status_code == 409
    [entry] = audit_entries(app, town, "appointments.cancel")
    assert entry.target == references[0] and entry.after["status"] == "cancelled"
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user_id,
            Notification.event == "appointment_cancelled")) == 1

    booked = api.get(f"{BASE}/bookings?status=booked", headers=bearer(town, token))
    assert [b["reference"] for b in booked.get_json()] == [references[1]]
    day = tomorrow().isoformat()
    on_day = api.get(f"{BASE}/bookings?date_from={day}&date_to={day}",
                     headers=bearer(town, token))
    assert on_day.headers["X-Total-Count"] == "2"
    yesterday = (tomorrow() - timedelta(days=2)).isoformat()
    before = api.get(f"{BASE}/bookings?date_to={yesterday}", headers=bearer(town, token))
    assert before.status_code == 200 and before.get_json() == []
    one = api.get(f"{BASE}/bookings/{references[1]}", headers=bearer(town, token))
    assert one.status_code == 200 and one.get_json()["qr_content"].endswith(references[1])
    assert api.get(f"{BASE}/bookings/{references[1]}", headers=bearer(
        town, token, **{"If-None-Match": one.headers["ETag"]})).status_code == 304


def test_scopes_are_enforced(app, town, place):
    _, read_only, _ = token_of(app, town, "reader@example.com", scope="bookings:read")
    api = app.test_client()
    refused = post_booking_api(app, town, read_only, new_booking(place))
    assert refused.status_code == 403 and "bookings:write" in refused.get_json()["detail"]
    assert api.get(f"{BASE}/bookings", headers=bearer(town, read_only)).status_code == 200
    _, profile_only, _ = token_of(app, town, "profile@example.com", scope="profile:read")
    assert api.get(f"{BASE}/bookings", headers=bearer(town, profile_only)).status_code == 403
    assert api.get(f"{BASE}/bookings", headers=host(town)).status_code == 401
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_token_of_another_city_is_worthless_here(app, town, place, make_city):
    elsewhere = make_city("apielse", locale="en", timezone="Asia/Shanghai")
    enable(app, elsewhere)
    _, token, _ = token_of(app, elsewhere, "traveller@example.com")
    answer = app.test_client().get(f"{BASE}/bookings", headers=bearer(town, token))
    assert answer.status_code == 401 and answer.content_type == "application/problem+json"
    assert post_booking_api(app, town, token, new_booking(place)).status_code == 401


def test_a_city_without_the_module_answers_404(app, town, place):
    configure_city(app, town, disable=["appointments"])
    answer = app.test_client().get(f"{BASE}/hospitals", headers=host(town))
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"
