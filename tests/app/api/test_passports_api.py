"""Passport applications in the REST API over HTTP: the citizen reads their own (with the
status history) and nobody else's; staff read the queue and move cases through the console's
workflow (audited, the citizen told), as their role allows; a back office reads the queue but
moves nothing (a case is claimed by a person)."""
import pytest
import sqlalchemy as sa

from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.passports.passports_support import (
    application,
    enable_passports,
    fill_in,
    submit,
)
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import audit_entries
from tests.support.oauth import (
    add_client,
    bearer,
    citizen_token,
    service_token,
    staff_token,
)

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("pp-api", locale="en")
    enable_passports(app, tenant)
    return tenant


@pytest.fixture()
def submitted(app, town):
    """A citizen's submitted application: (its id, the citizen's id, a passports:read token)."""
    browser = app.test_client()
    user_id = signed_in_citizen(app, browser, town, "fang@example.com")
    application_id = fill_in(browser, town)
    assert submit(browser, town, application_id).status_code == 302
    client_id, _ = add_client(app, town, scopes=("passports:read", "profile:read"))
    token = citizen_token(app, browser, town, client_id, "passports:read")["access_token"]
    return application_id, user_id, token


def test_the_citizen_reads_their_applications_with_the_status_history(app, town, submitted):
    application_id, _user_id, token = submitted
    api = app.test_client()
    listing = api.get("/api/v1/me/passport-applications", headers=bearer(town, token))
    assert listing.status_code == 200, listing.get_data(as_text=True)
    [item] = listing.get_json()
    assert item["id"] == application_id and item["status"] == "submitted"
    assert listing.headers["X-Total-Count"] == "1"
    one = api.get(f"/api/v1/me/passport-applications/{application_id}",
                  headers=bearer(town, token))
    assert one.status_code == 200
    assert [(e["from_status"], e["to_status"]) for e in one.get_json()["events"]] == [
        ("draft", "submitted")]
    assert "staff_notes" not in one.get_json()


def test_another_citizens_application_is_not_found_and_scopes_are_enforced(
        app, client, town, submitted):
    application_id, _user_id, _token = submitted
    signed_in_citizen(app, client, town, "other@example.com")
    client_id, _ = add_client(app, town, scopes=("passports:read", "profile:read"))
    other = citizen_token(app, client, town, client_id, "passports:read")["access_token"]
    api = app.test_client()
    answer = api.get(f"/api/v1/me/passport-applications/{application_id}",
                     headers=bearer(town, other))
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"
    assert api.get("/api/v1/me/passport-applications", headers=bearer(town, other)).get_json() == []
    profile_only = citizen_token(app, client, town, client_id, "profile:read")["access_token"]
    assert api.get("/api/v1/me/passport-applications",
                   headers=bearer(town, profile_only)).status_code == 403
    # Staff endpoints are closed to a citizen's token.
    assert api.get("/api/v1/staff/passport-applications",
                   headers=bearer(town, other)).status_code == 403


def test_a_clerk_claims_and_rejects_through_the_workflow(app, client, town, submitted):
    application_id, user_id, _token = submitted
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk", modules=["passports"])
    token = staff_token(app, client, town)
    api = app.test_client()
    queue = api.get("/api/v1/staff/passport-applications", headers=bearer(town, token))
    assert queue.status_code == 200, queue.get_data(as_text=True)
    assert [item["id"] for item in queue.get_json()] == [application_id]
    claim = api.post(f"/api/v1/staff/passport-applications/{application_id}/claim",
                     headers=bearer(town, token), json={"notes": "checking the photo"})
    assert claim.status_code == 200, claim.get_data(as_text=True)
    assert claim.get_json()["status"] == "in_review"
    # A rejection needs a message for the applicant: 422, and nothing changes.
    bare = api.post(f"/api/v1/staff/passport-applications/{application_id}/reject",
                    headers=bearer(town, token), json={})
    assert bare.status_code == 422 and "message" in bare.get_json()["errors"]["json"]
    assert application(app, town, application_id).status == "in_review"
    # A move the state does not allow: 409, nothing changes.
    early = api.post(f"/api/v1/staff/passport-applications/{application_id}/collected",
                     headers=bearer(town, token), json={})
    assert early.status_code == 409 and early.content_type == "application/problem+json"
    rejected = api.post(f"/api/v1/staff/passport-applications/{application_id}/reject",
                        headers=bearer(town, token), json={"message": "The photo is blurred."})
    assert rejected.status_code == 200
    stored = application(app, town, application_id)
    assert stored.status == "rejected" and stored.rejection_reason == "The photo is blurred."
    moves = [e for e in audit_entries(app, town) if e.action.startswith("passports.")]
    assert [e.action for e in moves] == ["passports.in_review", "passports.rejected"]
    assert all("clerk@example.com via oauth-client:" in e.actor for e in moves)  # who, through what
    with tenant_context(town, app):
        told = db.session.scalars(sa.select(Notification.event).where(
            Notification.user_id == user_id)).all()
    assert told.count("passport_status") >= 3  # submitted, in review, rejected


def test_staff_of_another_module_and_viewers_may_not_move_cases(app, client, town, submitted):
    application_id, _user_id, _token = submitted
    signed_in_staff(app, client, town, "fines@example.com", role="clerk",
                    modules=["traffic_fines"])
    token = staff_token(app, client, town)
    api = app.test_client()
    assert api.get("/api/v1/staff/passport-applications",
                   headers=bearer(town, token)).status_code == 403
    viewer_browser = app.test_client()
    signed_in_staff(app, viewer_browser, town, "viewer@example.com", role="viewer")
    viewer = staff_token(app, viewer_browser, town)
    assert api.get("/api/v1/staff/passport-applications",
                   headers=bearer(town, viewer)).status_code == 200
    answer = api.post(f"/api/v1/staff/passport-applications/{application_id}/claim",
                      headers=bearer(town, viewer), json={})
    assert answer.status_code == 403
    assert application(app, town, application_id).status == "submitted"


def test_a_back_office_reads_the_queue_but_moves_no_case(app, town, submitted):
    application_id, _user_id, _token = submitted
    token = service_token(app, town)
    api = app.test_client()
    case = api.get(f"/api/v1/staff/passport-applications/{application_id}",
                   headers=bearer(town, token))
    assert case.status_code == 200 and case.get_json()["full_name"] == "Wang Fang"
    answer = api.post(f"/api/v1/staff/passport-applications/{application_id}/claim",
                      headers=bearer(town, token), json={})
    assert answer.status_code == 403
    assert "staff member" in answer.get_json()["detail"]
    assert application(app, town, application_id).status == "submitted"


def test_a_case_claimed_by_another_clerk_is_not_theirs_to_move(app, town, submitted):
    application_id, _user_id, _token = submitted
    first, second = app.test_client(), app.test_client()
    signed_in_staff(app, first, town, "first@example.com", role="clerk", modules=["passports"])
    signed_in_staff(app, second, town, "second@example.com", role="clerk",
                    modules=["passports"])
    api = app.test_client()
    path = f"/api/v1/staff/passport-applications/{application_id}"
    assert api.post(f"{path}/claim", headers=bearer(town, staff_token(app, first, town)),
                    json={}).status_code == 200
    answer = api.post(f"{path}/approve", headers=bearer(town, staff_token(app, second, town)),
                      json={})
    assert answer.status_code == 403 and answer.get_json()["type"].endswith("/claimed")
    assert application(app, town, application_id).status == "in_review"
