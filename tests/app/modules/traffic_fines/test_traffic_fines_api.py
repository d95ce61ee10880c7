"""Traffic fines and payments through the REST API, over HTTP against PostgreSQL: a citizen's
app looks a fine up and pays it (the same payment the page's pay button asks for, one per
Idempotency-Key), the citizen approves it in the sandbox's checkout in their browser, and the
app reads the payment, its receipt and the fine; scopes, another citizen's payment, another
city's token and failed look-ups are refused."""
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from app.payments import Payment
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.traffic_fines.test_traffic_fines import (
    add_fine,
    ask_to_pay,
    fine_row,
    look_up,
)
from tests.app.payments.payments_support import pay_through_the_sandbox, reference_in
from tests.support.accounts import signed_in_citizen
from tests.support.cities import configure_city, host
from tests.support.oauth import add_client, bearer, citizen_token

SCOPES = "payments:read payments:write"
TICKET = {"plate_number": "浙k 12345", "ticket_number": " 3301001 "}  # as a citizen types them


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("apifines", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["traffic_fines"])
    return tenant


def token_of(app, town, email, scope=SCOPES):
    """(user id, access token, the citizen's signed-in browser)."""
    browser = app.test_client()
    client_id, _ = add_client(app, town, scopes=tuple(SCOPES.split()))
    user_id = signed_in_citizen(app, browser, town, email)
    return user_id, citizen_token(app, browser, town, client_id, scope)["access_token"], browser


def pay_fine(app, town, token, body=TICKET, key=None):
    return app.test_client().post("/api/v1/traffic-fines/payments", json=body, headers=bearer(
        town, token, **{"Idempotency-Key": key or uuid.uuid4().hex}))


def payments_count(app, town) -> int:
    with tenant_context(town, app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Payment))


def test_a_fine_is_looked_up_paid_in_the_sandbox_and_its_receipt_read(app, town):
    fine_id = add_fine(app, town, amount_fen=15050, due=date(2099, 1, 1))
    user_id, token, browser = token_of(app, town, "driver@example.com")
    api = app.test_client()
    found = api.post("/api/v1/traffic-fines/lookup", json=TICKET, headers=bearer(town, token))
    assert found.status_code == 200, found.get_data(as_text=True)
    assert found.get_json()["id"] == fine_id and found.get_json()["due"]["total_fen"] == 15050
    assert api.get("/api/v1/traffic-fines", headers=bearer(town, token)).get_json() == []

    key = uuid.uuid4().hex
    first = pay_fine(app, town, token, key=key)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = pay_fine(app, town, token, key=key)
    assert again.get_json()["reference"] == first.get_json()["reference"]  # one payment
    made = first.get_json()
    assert made["status"] == "created" and made["amount_fen"] == 15050
    assert made["description"] == "Traffic fine 3301001"
    assert made["items"] == [{"kind": "traffic_fine", "item_id": fine_id,
                              "label": "Traffic fine 3301001", "amount_fen": 15050}]
    assert made["checkout_url"] == f"http://{town.domains[0]}/payments/{made['reference']}"
    assert made["receipt_url"] is None
    assert payments_count(app, town) == 1
    listed = api.get("/api/v1/traffic-fines", headers=bearer(town, token)).get_json()
    assert [fine["id"] for fine in listed] == [fine_id]  # a payment of it is under way

    # Another key (a second tab) while it is under way: the same payment, as on the page.
    second_tab = pay_fine(app, town, token)
    assert second_tab.get_json()["reference"] == made["reference"]
    no_receipt = api.get(f"/api/v1/payments/{made['reference']}/receipt",
                         headers=bearer(town, token))
    assert no_receipt.status_code == 404

    # The citizen opens checkout_url in the browser where they are signed in, and approves.
    landed = pay_through_the_sandbox(browser, town, reference_in(made["checkout_url"]))
    assert landed.status_code == 303
    paid = api.get(f"/api/v1/payments/{made['reference']}", headers=bearer(town, token))
    assert paid.get_json()["status"] == "success" and paid.get_json()["checkout_url"] is None
    receipt = api.get(f"/api/v1/payments/{made['reference']}/receipt",
                      headers=bearer(town, token))
    assert receipt.status_code == 200
    fields = receipt.get_json()
    assert fields["receipt_number"] == paid.get_json()["receipt_number"]
    assert fields["amount_fen"] == 15050 and fields["issuer"] == town.name
    assert fields["payment_method"] == "Sandbox (test payment, no money moved)"
    page = browser.get(paid.get_json()["receipt_url"].split(town.domains[0], 1)[1],
                       headers=host(town))
    assert page.status_code == 200 and fields["receipt_number"] in page.get_data(as_text=True)

    fine = api.get(f"/api/v1/traffic-fines/{fine_id}", headers=bearer(town, token)).get_json()
    assert fine["paid"] is True and fine["paid_fen"] == 15050 and fine["due"] is None
    assert fine_row(app, town, fine_id).paid_by == user_id
    late = pay_fine(app, town, token)
    assert late.status_code == 409 and late.get_json()["title"] == "Conflict"
    listed = api.get("/api/v1/payments?status=success", headers=bearer(town, token))
    assert [p["reference"] for p in listed.get_json()] == [made["reference"]]
    assert api.get("/api/v1/payments?status=created",
                   headers=bearer(town, token)).get_json() == []


def test_the_api_asks_for_the_same_payment_as_the_pay_button(app, town):
    """The pay button's payment and the API's are one: the citizen who started paying on the
    page gets that payment from the API; another citizen is refused while it is under way
    (409, without its reference)."""
    fine_id = add_fine(app, town)
    _, token, browser = token_of(app, town, "page@example.com")
    look_up(browser, town, "浙K12345", "3301001")
    by_page = ask_to_pay(browser, town, fine_id)
    assert by_page.status_code == 302
    by_api = pay_fine(app, town, token)
    assert by_api.status_code == 201
    assert by_api.get_json()["reference"] == reference_in(by_page.location)
    _, other, _ = token_of(app, town, "someone@example.com")
    refused = pay_fine(app, town, other)
    assert refused.status_code == 409 and "payment" not in refused.get_json()
    assert refused.get_json()["detail"] == "A payment for this is already in progress."
    assert payments_count(app, town) == 1


def test_scopes_others_and_other_cities_are_refused(app, town, make_city):
    fine_id = add_fine(app, town)
    _, payer, _ = token_of(app, town, "payer@example.com")
    reference = pay_fine(app, town, payer).get_json()["reference"]
    _, reader, _ = token_of(app, town, "reader@example.com", scope="payments:read")
    api = app.test_client()
    refused = pay_fine(app, town, reader)
    assert refused.status_code == 403 and "payments:write" in refused.get_json()["detail"]
    assert api.get(f"/api/v1/payments/{reference}", headers=bearer(town, reader)
                   ).status_code == 404
    assert api.get(f"/api/v1/traffic-fines/{fine_id}", headers=bearer(town, reader)
                   ).status_code == 404
    assert api.get("/api/v1/payments", headers=bearer(town, reader)).get_json() == []
    _, profile_only, _ = token_of(app, town, "nosy@example.com", scope="profile:read")
    assert api.get("/api/v1/payments", headers=bearer(town, profile_only)).status_code == 403
    assert api.get("/api/v1/traffic-fines", headers=host(town)).status_code == 401

    elsewhere = make_city("apiother", locale="en")
    configure_city(app, elsewhere, enable=["traffic_fines"])
    _, foreign, _ = token_of(app, elsewhere, "visitor@example.com")
    assert api.get("/api/v1/payments", headers=bearer(town, foreign)).status_code == 401
    assert pay_fine(app, town, foreign).status_code == 401
    assert payments_count(app, town) == 1


def test_wrong_numbers_are_one_404_and_failed_look_ups_are_throttled(app, town):
    """A wrong plate and an unknown ticket get the same answer; failed look-ups through the
    look-up endpoint, the pay endpoint and the page draw on one budget per client."""
    add_fine(app, town)
    configure_city(app, town, values={"traffic_fines": {"lookups_per_hour": 2}})
    _, token, _ = token_of(app, town, "guesser@example.com")
    api = app.test_client()
    wrong_plate = api.post("/api/v1/traffic-fines/lookup", headers=bearer(town, token),
                           json={**TICKET, "plate_number": "浙K99999"})
    unknown = pay_fine(app, town, token, body={**TICKET, "ticket_number": "999"})
    assert wrong_plate.status_code == unknown.status_code == 404
    assert wrong_plate.get_json()["detail"] == unknown.get_json()["detail"]
    throttled = api.post("/api/v1/traffic-fines/lookup", headers=bearer(town, token),
                         json=TICKET)
    assert throttled.status_code == 429
    assert throttled.content_type == "application/problem+json"
    # One budget with the look-up page: the same client is throttled there too.
    assert look_up(app.test_client(), town, "浙K12345", "3301001").status_code == 429
    assert payments_count(app, town) == 0


def test_a_city_without_the_module_answers_404(app, town):
    _, token, _ = token_of(app, town, "late@example.com")
    configure_city(app, town, disable=["traffic_fines"])
    answer = app.test_client().get("/api/v1/traffic-fines", headers=bearer(town, token))
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"
