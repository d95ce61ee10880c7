"""The staff's side: the queue (overdue first, filters), status changes with a public and an
internal note (the reporter told in their own language), closing with a reason, assignment,
merging duplicates (also two staff merging the other way round at once), permissions, the
audit log, the set-up pages and the dashboard's figures."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.modules.service_requests import workflow
from app.modules.service_requests.models import ServiceApiClient, ServiceRequest
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.service_requests.service_requests_support import (
    enable_service_requests,
    notifications,
    report,
    stored,
    tracking_number_of,
)
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import audit_entries, host, post_form

pytestmark = pytest.mark.usefixtures("uploads")


IDS = {}  # by city: the ids of its categories and departments


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("queue", locale="en")
    IDS[tenant.slug] = enable_service_requests(app, tenant)
    return tenant


@pytest.fixture()
def ids(town):
    return IDS[town.slug]


@pytest.fixture()
def staff(app, town):
    client = app.test_client()
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk",
                    modules=["service_requests"])
    return client


def new_report(app, client, town, email, **data) -> str:
    signed_in_citizen(app, client, town, email)
    return tracking_number_of(report(client, town, **data))


def request_id(number: str) -> int:
    return int(number[2:])


def act(staff, town, number, action, **data):
    """One of the forms of the request's page; their fields, the CSRF token's too, are named
    with the form's prefix (the action's name)."""
    path = f"/admin/service-requests/{request_id(number)}"
    token = form_token(staff.get(path, headers=host(town)))
    return staff.post(f"{path}/{action}", headers=host(town),
                      data={f"{action}-csrf_token": token, **data})


def test_the_queue_puts_overdue_requests_first_and_filters(app, ids, client, town, staff):
    fresh = new_report(app, client, town, "fresh@example.com", description="Fresh hole")
    late = new_report(app, app.test_client(), town, "late@example.com",
                      description="Old hole")
    paint = new_report(app, app.test_client(), town, "paint@example.com", code="graffiti")
    with tenant_context(town, app):  # reported twelve days ago: past its 5 days
        db.session.execute(sa.update(ServiceRequest).where(
            ServiceRequest.id == request_id(late)).values(
            created_at=datetime.now(UTC) - timedelta(days=12),
            due_at=datetime.now(UTC) - timedelta(days=7)))
        db.session.commit()
    queue = staff.get("/admin/service-requests/", headers=host(town)).get_data(as_text=True)
    assert queue.index(late) < queue.index(fresh) and queue.index(late) < queue.index(paint)
    assert queue.count("overdue") == 1
    only = staff.get(f"/admin/service-requests/?category={ids['graffiti']}",
                     headers=host(town)).get_data(as_text=True)
    assert paint in only and fresh not in only
    old = staff.get("/admin/service-requests/?age=7", headers=host(town)).get_data(as_text=True)
    assert late in old and fresh not in old
    cleaning = staff.get(f"/admin/service-requests/?department={ids['cleaning']}",
                         headers=host(town)).get_data(as_text=True)
    assert paint in cleaning and late not in cleaning
    page = staff.get(f"/admin/service-requests/{request_id(late)}", headers=host(town))
    assert "late@example.com" in page.get_data(as_text=True)  # staff see the reporter


def test_status_changes_carry_notes_and_tell_the_reporter_in_their_language(
        app, client, town, staff):
    number = new_report(app, client, town, "zhang@example.com")
    with tenant_context(town, app):
        db.session.execute(sa.update(User).where(User.email == "zhang@example.com")
                           .values(locale="zh_Hans"))
        db.session.commit()
    response = act(staff, town, number, "update", **{
        "update-status": "in_progress", "update-public_note": "Crew sent on Monday.",
        "update-internal_note": "Ask Lin about the asphalt stock."})
    assert response.status_code == 303
    found = stored(app, town, number)
    assert (found.status, found.status_notes) == ("in_progress", "Crew sent on Monday.")
    public = client.get(f"/services/service-requests/requests/{number}", headers=host(town))
    text = public.get_data(as_text=True)
    assert "Crew sent on Monday." in text and "asphalt" not in text
    internal = staff.get(f"/admin/service-requests/{found.id}", headers=host(town))
    assert "Ask Lin about the asphalt stock." in internal.get_data(as_text=True)
    told = notifications(app, town)[-1]
    assert (told.event, told.locale, told.recipient) == (
        "service_request_status", "zh_Hans", "zhang@example.com")
    assert number in told.subject and "处理中" in told.subject
    assert "Crew sent on Monday." in told.body
    (entry,) = audit_entries(app, town, "service_requests.update")
    assert entry.target == number and entry.actor.endswith("clerk@example.com")
    assert entry.before["status"] == "submitted" and entry.after["status"] == "in_progress"
    assert entry.after["internal_note"] == "Ask Lin about the asphalt stock."


def test_closing_needs_a_reason_and_a_closed_request_can_be_reopened(app, client, town, staff):
    number = new_report(app, client, town, "closer@example.com")
    refused = act(staff, town, number, "update", **{"update-status": "closed"})
    assert refused.status_code == 409
    assert "Choose why the report is closed." in refused.get_data(as_text=True)
    assert stored(app, town, number).status == "submitted"
    assert audit_entries(app, town, "service_requests.update") == []
    nothing = act(staff, town, number, "update", **{"update-status": "submitted"})
    assert nothing.status_code == 409  # no change and no note
    closed = act(staff, town, number, "update", **{
        "update-status": "closed", "update-close_reason": "fixed",
        "update-public_note": "Filled."})
    assert closed.status_code == 303
    found = stored(app, town, number)
    assert (found.status, found.close_reason) == ("closed", "fixed") and found.closed_at
    reopened = act(staff, town, number, "update", **{"update-status": "in_progress",
                                                     "update-public_note": "It is back."})
    assert reopened.status_code == 303
    found = stored(app, town, number)
    assert (found.status, found.close_reason, found.closed_at) == ("in_progress", None, None)
    history = client.get(f"/services/service-requests/requests/{number}",
                         headers=host(town)).get_data(as_text=True)
    assert history.index("Filled.") < history.index("It is back.")


def test_assigning_a_department_is_audited(app, ids, client, town, staff):
    number = new_report(app, client, town, "assign@example.com")
    response = act(staff, town, number, "assign", **{
        "assign-department_id": str(ids["cleaning"]), "assign-internal_note": "Paint."})
    assert response.status_code == 303
    assert stored(app, town, number).department_id == ids["cleaning"]
    (entry,) = audit_entries(app, town, "service_requests.assign")
    assert (entry.before["department_id"], entry.after["department_id"]) == (
        ids["roads"], ids["cleaning"])
    wrong = act(staff, town, number, "assign", **{"assign-department_id": "99999"})
    assert wrong.status_code == 422


def test_merging_a_duplicate_points_it_and_its_reporter_to_the_original(app, client, town,
                                                                        staff):
    original = new_report(app, client, town, "first@example.com")
    duplicate = new_report(app, app.test_client(), town, "second@example.com")
    response = act(staff, town, duplicate, "merge", **{"merge-original": original.lower()})
    assert response.status_code == 303
    merged = stored(app, town, duplicate)
    assert (merged.status, merged.close_reason, merged.merged_into_id) == (
        "closed", "duplicate", request_id(original))
    page = client.get(f"/services/service-requests/requests/{duplicate}", headers=host(town))
    assert f"/services/service-requests/requests/{original}" in page.get_data(as_text=True)
    told = notifications(app, town)[-1]
    assert told.recipient == "second@example.com" and original in told.body
    assert any(duplicate in event.internal_note
               for event in stored(app, town, original).events)
    assert [e.target for e in audit_entries(app, town, "service_requests.merge")] == [duplicate]
    third = new_report(app, app.test_client(), town, "third@example.com")
    for merged, into, status in ((third, third, 409),  # itself
                                 (third, duplicate, 409),  # a duplicate takes none
                                 (duplicate, original, 409),  # closed already
                                 (third, "SR99999999", 404)):
        assert act(staff, town, merged, "merge", **{"merge-original": into}
                   ).status_code == status
    assert stored(app, town, third).status == "submitted"


def test_two_staff_merging_two_reports_into_each_other_at_once(app, client, town):
    """Locks are taken in id order, so both finish (no deadlock) and only one merge holds."""
    first = new_report(app, client, town, "race-a@example.com")
    second = new_report(app, app.test_client(), town, "race-b@example.com")
    with tenant_context(town, app):
        actor_id = db.session.scalar(sa.select(User.id).where(User.email == "race-a@example.com"))
    barrier, results = threading.Barrier(2), {}

    def merge(duplicate, original):
        with tenant_context(town, app), app.test_request_context(
                "/", base_url=f"http://{town.domains[0]}"):
            actor = db.session.get(User, actor_id)
            barrier.wait()
            try:
                pair = workflow.lock_pair(request_id(duplicate), request_id(original))
                workflow.merge(*pair, actor)
                db.session.commit()
                results[duplicate] = "merged"
            except workflow.Refused:
                db.session.rollback()
                results[duplicate] = "refused"

    threads = [threading.Thread(target=merge, args=pair)
               for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["merged", "refused"]
    states = [stored(app, town, number) for number in (first, second)]
    assert sorted(s.merged_into_id is not None for s in states) == [False, True]


def test_who_may_do_what(app, client, town):
    number = new_report(app, client, town, "perm@example.com")
    viewer = app.test_client()
    signed_in_staff(app, viewer, town, "viewer@example.com", role="viewer")
    assert viewer.get("/admin/service-requests/", headers=host(town)).status_code == 200
    refused = act(viewer, town, number, "update", **{"update-status": "in_progress"})
    assert refused.status_code == 403
    other_clerk = app.test_client()
    signed_in_staff(app, other_clerk, town, "other@example.com", role="clerk",
                    modules=["passports"])
    assert act(other_clerk, town, number, "update",
               **{"update-status": "in_progress"}).status_code == 403
    clerk = app.test_client()
    signed_in_staff(app, clerk, town, "c@example.com", role="clerk", modules=["service_requests"])
    assert clerk.get("/admin/service-requests/setup", headers=host(town)).status_code == 403
    assert stored(app, town, number).status == "submitted"


def test_the_set_up_pages_edit_categories_questions_departments_and_keys(app, ids, client, town):
    manager = app.test_client()
    signed_in_staff(app, manager, town, "manager@example.com", role="module_manager",
                    modules=["service_requests"])
    made = post_form(manager, town, "/admin/service-requests/categories/new", {
        "code": "noise", "name": "Noise", "name_zh": "噪声", "days_to_close": "2",
        "department_id": str(ids["roads"]), "active": "y"})
    assert made.status_code == 303
    again = post_form(manager, town, "/admin/service-requests/categories/new", {
        "code": "noise", "name": "Noise", "name_zh": "噪声", "days_to_close": "2",
        "department_id": "0"})
    assert again.status_code == 422 and "Another category has this code." in again.get_data(
        as_text=True)
    bad = post_form(manager, town, "/admin/service-requests/categories/new", {
        "code": "no ise!", "name": "x", "name_zh": "x", "days_to_close": "400",
        "department_id": "0"})
    assert bad.status_code == 422
    setup = manager.get("/admin/service-requests/setup", headers=host(town))
    category_id = int(setup.get_data(as_text=True).split("/categories/")[3].split('"')[0])
    path = f"/admin/service-requests/categories/{category_id}/questions/new"
    wrong = post_form(manager, town, path, {
        "code": "when", "datatype": "singlevaluelist", "description": "When?",
        "description_zh": "何时？", "position": "1", "options": "night only"})
    assert wrong.status_code == 422 and "Write each option as" in wrong.get_data(as_text=True)
    asked = post_form(manager, town, path, {
        "code": "when", "datatype": "singlevaluelist", "variable": "y", "required": "y",
        "description": "When?", "description_zh": "何时？", "position": "1",
        "options": "night | At night | 夜间\nday | By day | 白天"})
    assert asked.status_code == 303
    definition = client.get("/open311/v2/services/noise.json", headers=host(town)).json
    assert definition["attributes"][0]["values"] == [{"key": "night", "name": "At night"},
                                                     {"key": "day", "name": "By day"}]
    department = post_form(manager, town, "/admin/service-requests/departments/new",
                           {"name": "Parks", "name_zh": "园林处", "active": "y"})
    assert department.status_code == 303
    edit = f"/admin/service-requests/categories/{category_id}"
    page = manager.get(edit, headers=host(town)).get_data(as_text=True)
    assert "When?" in page and 'name="code"' not in page  # apps rely on it: it stays
    renamed = post_form(manager, town, edit, {
        "code": "changed", "name": "Night noise", "name_zh": "夜间噪声", "days_to_close": "3",
        "department_id": "0", "active": "y"})
    assert renamed.status_code == 303
    services = client.get("/open311/v2/services.json", headers=host(town)).json
    assert [s["service_code"] for s in services if s["service_name"] == "Night noise"] == [
        "noise"]
    question_id = page.split("/questions/")[1].split('"')[0]
    assert manager.get(f"{edit}/questions/{question_id}", headers=host(town)).status_code == 200
    actions = [entry.action for entry in audit_entries(app, town)]
    assert {"service_requests.category.create", "service_requests.question.create",
            "service_requests.question.options",
            "service_requests.department.create"} <= set(actions)


def test_an_api_key_is_shown_once_kept_hashed_and_can_be_revoked(app, client, town):
    admin = app.test_client()
    signed_in_staff(app, admin, town, "chief@example.com", role="admin")
    issued = post_form(admin, town, "/admin/service-requests/api-clients",
                       {"name": "Hotline 12345"}, page="/admin/service-requests/setup")
    text = issued.get_data(as_text=True)
    api_key = text.split('<code class="secret">')[1].split("</code>")[0]
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    with tenant_context(town, app):
        client_row = db.session.scalar(sa.select(ServiceApiClient))
        assert api_key not in (client_row.key_digest, client_row.key_hint)
        assert len(client_row.key_digest) == 64 and api_key.startswith(client_row.key_hint)
    setup = admin.get("/admin/service-requests/setup", headers=host(town))
    assert api_key not in setup.get_data(as_text=True)
    post = {"api_key": api_key, "service_code": "graffiti", "address_string": "Bus stop"}
    assert client.post("/open311/v2/requests.json", headers=host(town),
                       data=post).status_code == 200
    revoked = post_form(admin, town, f"/admin/service-requests/api-clients/{client_row.id}"
                        "/revoke", {}, page="/admin/service-requests/setup")
    assert revoked.status_code == 303
    assert client.post("/open311/v2/requests.json", headers=host(town),
                       data=post).status_code == 403
    assert [e.action for e in audit_entries(app, town) if "api_client" in e.action] == [
        "service_requests.api_client.issue", "service_requests.api_client.revoke"]


def test_the_dashboard_shows_open_requests_by_status_and_category_and_time_to_close(
        app, client, town, staff):
    numbers = [new_report(app, app.test_client(), town, f"dash{n}@example.com",
                          code="graffiti" if n == 2 else "pothole") for n in range(3)]
    act(staff, town, numbers[0], "update", **{"update-status": "closed",
                                             "update-close_reason": "fixed"})
    act(staff, town, numbers[1], "update", **{"update-status": "in_progress"})
    with tenant_context(town, app):  # the closed one took two and a half days
        db.session.execute(sa.update(ServiceRequest).where(
            ServiceRequest.id == request_id(numbers[0])).values(
            created_at=ServiceRequest.closed_at - timedelta(days=2, hours=12)))
        db.session.commit()
    page = staff.get("/admin/dashboard", headers=host(town)).get_data(as_text=True)
    section = page.split("Service requests to act on, by status")[1]
    assert "<dt>Received</dt><dd>1</dd>" in section.replace("\n", "")
    assert "<dt>In progress</dt><dd>1</dd>" in section.replace("\n", "")
    by_category = page.split("Open service requests by category")[1].replace("\n", "")
    assert "<dt>Pothole</dt><dd>1</dd>" in by_category
    assert "<dt>Graffiti</dt><dd>1</dd>" in by_category
    median = page.split("Median days to close")[1]
    assert '<span class="figure-value">2.5</span>' in median
