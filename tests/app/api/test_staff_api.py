"""The staff's and back offices' resources of the REST API over HTTP, and the citizen's
utility bills: CSV loads of fines, accounts and bills (the console's checks, all or nothing,
audited), a day's bookings, payments and refunds (the console's function and limits); every
one refused to a token without the scope or a role without the permission."""
import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.modules.traffic_fines.models import TrafficFine
from app.modules.utility_bills.models import AccountLink, UtilityAccount
from app.payments.models import Refund
from app.payments.service import receive_notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    book,
    local,
    new_citizen,
    set_up_hospital,
    tomorrow,
)
from tests.app.modules.utility_bills.test_utility_bills import ACCOUNTS, BILLS
from tests.app.payments.payments_support import new_payment, reload, sandbox_notification
from tests.app.spreadsheets.test_imports import GOOD_ROWS, HEADER
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import audit_entries, configure_city, host
from tests.support.oauth import add_client, bearer, citizen_token, service_token, staff_token

CSV = {"Content-Type": "text/csv"}


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("back-office", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["traffic_fines", "utility_bills", "appointments"])
    return tenant


def fine_count(app, town) -> int:
    with tenant_context(town, app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(TrafficFine))


def test_a_back_office_loads_fines_all_or_nothing(app, town):
    token = service_token(app, town)
    api = app.test_client()
    wrong = (HEADER + GOOD_ROWS + "3301003,浙K11111,Parking,Market,2026-02-30 10:00,100.00,"
             "2026-03-20\n").encode()
    refused = api.post("/api/v1/staff/traffic-fines/imports", data=wrong,
                       headers=bearer(town, token, **CSV))
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    problem = refused.get_json()
    assert [row["line"] for row in problem["row_errors"]] == [4]
    assert "Not a time" in problem["row_errors"][0]["message"]
    assert fine_count(app, town) == 0 and audit_entries(app, town, "traffic_fines.import") == []

    loaded = api.post("/api/v1/staff/traffic-fines/imports", data=(HEADER + GOOD_ROWS).encode(),
                      headers=bearer(town, token, **CSV))
    assert loaded.status_code == 201, loaded.get_data(as_text=True)
    assert loaded.get_json()["loaded"] == 2 and loaded.get_json()["identical"] == 0
    again = api.post("/api/v1/staff/traffic-fines/imports", data=(HEADER + GOOD_ROWS).encode(),
                     headers=bearer(town, token, **CSV))
    assert again.get_json()["loaded"] == 0 and again.get_json()["identical"] == 2
    assert fine_count(app, town) == 2
    [first, _second] = audit_entries(app, town, "traffic_fines.import")
    assert first.actor.startswith("oauth-client:") and first.after["loaded"] == 2
    # Not CSV: 415, nothing kept.
    json_body = api.post("/api/v1/staff/traffic-fines/imports", json={"rows": []},
                         headers=bearer(town, token))
    assert json_body.status_code == 415


def test_fine_loads_need_staff_work_and_the_module_permission(app, client, town):
    api = app.test_client()
    reader = service_token(app, town, scopes=("staff:read",))
    assert api.post("/api/v1/staff/traffic-fines/imports", data=(HEADER + GOOD_ROWS).encode(),
                    headers=bearer(town, reader, **CSV)).status_code == 403
    signed_in_staff(app, client, town, "bills@example.com", role="clerk",
                    modules=["utility_bills"])
    other_module = staff_token(app, client, town)
    assert api.post("/api/v1/staff/traffic-fines/imports", data=(HEADER + GOOD_ROWS).encode(),
                    headers=bearer(town, other_module, **CSV)).status_code == 403
    assert fine_count(app, town) == 0
    # The same clerk loads the module they work, as themselves in the audit log.
    loaded = api.post("/api/v1/staff/utility-accounts/imports", data=ACCOUNTS.encode("gb18030"),
                      headers=bearer(town, other_module, **CSV))
    assert loaded.status_code == 201, loaded.get_data(as_text=True)
    [entry] = audit_entries(app, town, "utility_accounts.import")
    assert entry.actor.startswith("user:") and "via oauth-client:" in entry.actor


def test_bills_load_after_their_accounts_and_the_citizen_reads_them(app, client, town):
    token = service_token(app, town)
    api = app.test_client()
    early = api.post("/api/v1/staff/utility-bills/imports", data=BILLS.encode(),
                     headers=bearer(town, token, **CSV))
    assert early.status_code == 422
    assert "load the accounts first" in early.get_json()["row_errors"][0]["message"]
    assert api.post("/api/v1/staff/utility-accounts/imports", data=ACCOUNTS.encode("gb18030"),
                    headers=bearer(town, token, **CSV)).status_code == 201
    assert api.post("/api/v1/staff/utility-bills/imports", data=BILLS.encode(),
                    headers=bearer(town, token, **CSV)).get_json()["loaded"] == 4

    user_id = signed_in_citizen(app, client, town, "resident@example.com")
    with tenant_context(town, app):
        account = db.session.scalar(sa.select(UtilityAccount).where(
            UtilityAccount.account_number == "W-1001"))
        db.session.add(AccountLink(user_id=user_id, account_id=account.id))
        db.session.commit()
    client_id, _ = add_client(app, town, scopes=("bills:read", "profile:read"))
    citizen = citizen_token(app, client, town, client_id, "bills:read")["access_token"]
    accounts = api.get("/api/v1/me/utility-accounts", headers=bearer(town, citizen))
    assert [a["account_number"] for a in accounts.get_json()] == ["W-1001"]
    bills = api.get("/api/v1/me/utility-bills?status=unpaid", headers=bearer(town, citizen))
    assert bills.status_code == 200
    assert [b["bill_number"] for b in bills.get_json()] == ["B2", "B1"]
    assert bills.get_json()[0]["amount_fen"] == 4180
    # A citizen's token loads nothing.
    assert api.post("/api/v1/staff/utility-bills/imports", data=BILLS.encode(),
                    headers=bearer(town, citizen, **CSV)).status_code == 403


def test_a_days_bookings_for_a_back_office_and_the_modules_clerks(app, client, town):
    place = set_up_hospital(app, town)
    patient = new_citizen(app, town)
    reference = book(app, town, patient, place.department, local(tomorrow(), 8, 30),
                     place.doctor)
    api = app.test_client()
    token = service_token(app, town)
    day = api.get(f"/api/v1/staff/bookings?day={tomorrow().isoformat()}",
                  headers=bearer(town, token))
    assert day.status_code == 200, day.get_data(as_text=True)
    assert [(b["reference"], b["status"]) for b in day.get_json()] == [(reference, "booked")]
    assert api.get("/api/v1/staff/bookings", headers=bearer(town, token)).get_json() == []
    signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    viewer = staff_token(app, client, town, scope="staff:read")
    # The console shows the day list only to those who work the module; so does the API.
    assert api.get(f"/api/v1/staff/bookings?day={tomorrow().isoformat()}",
                   headers=bearer(town, viewer)).status_code == 403


def paid_payment(app, town, fen=10_000):
    payment = new_payment(app, town, ((1, fen),))
    with tenant_context(town, app):
        assert receive_notification("sandbox", sandbox_notification(app, town,
                                                                     payment.reference))
        db.session.commit()
    return reload(app, town, payment.reference)


def test_refunds_through_the_consoles_function_and_limits(app, client, town):
    payment = paid_payment(app, town)
    token = service_token(app, town)
    api = app.test_client()
    listing = api.get("/api/v1/staff/payments?status=success", headers=bearer(town, token))
    assert [p["reference"] for p in listing.get_json()] == [payment.reference]
    path = f"/api/v1/staff/payments/{payment.reference}/refunds"
    made = api.post(path, headers=bearer(town, token), json={
        "amount_fen": 3000, "reason": "Overpaid", "reference": "office-refund-1"})
    assert made.status_code == 201, made.get_data(as_text=True)
    retried = api.post(path, headers=bearer(town, token), json={
        "amount_fen": 3000, "reason": "Overpaid", "reference": "office-refund-1"})
    assert retried.status_code == 201 and retried.get_json() == made.get_json()
    too_much = api.post(path, headers=bearer(town, token), json={
        "amount_fen": 7001, "reason": "Too much"})
    assert too_much.status_code == 409
    assert too_much.get_json()["refundable_fen"] == 7000
    with tenant_context(town, app):
        assert db.session.scalars(sa.select(Refund.amount_fen)).all() == [3000]
    assert reload(app, town, payment.reference).refunded_fen == 3000
    [entry] = audit_entries(app, town, "payments.refund")
    assert entry.actor.startswith("oauth-client:") and entry.after["amount_fen"] == 3000
    # A payment of no module: only city administrators (and back offices) see it.
    signed_in_staff(app, client, town, "fines-clerk@example.com", role="clerk",
                    modules=["traffic_fines"])
    clerk = staff_token(app, client, town)
    assert api.get("/api/v1/staff/payments", headers=bearer(town, clerk)).get_json() == []
    assert api.post(path, headers=bearer(town, clerk), json={
        "amount_fen": 100, "reason": "x"}).status_code == 404
    reader = service_token(app, town, scopes=("staff:read",))
    assert api.post(path, headers=bearer(town, reader), json={
        "amount_fen": 100, "reason": "x"}).status_code == 403


def test_the_staff_endpoints_honour_the_openapi_document(app, town):
    """Schemathesis, with a back office's token, on every staff operation: no server error,
    every answer as the document says. (A CSV load's body is a string to JSON Schema, so a
    string it generates is no valid file: its refusal is not held against the load.)"""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=host(town))
    headers = bearer(town, service_token(app, town))
    operations = [result.ok() for result in schema.get_all_operations()
                  if result.ok().path.startswith("/api/v1/staff/")]
    assert len(operations) >= 8
    for operation in operations:
        conforms(operation, headers, excluded=[positive_data_acceptance] if (
            operation.path.endswith("/imports")) else [])


def conforms(operation, headers, excluded):
    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=15, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def each_case(case):
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    each_case()
