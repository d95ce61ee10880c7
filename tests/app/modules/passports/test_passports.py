"""Passport renewal through HTTP: a citizen applies in steps and submits; staff work the case
to collection; every refusal (wrong state, someone else's case, another city's, a disabled
module) answers as it should."""
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.modules.passports.models import PassportApplication
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.passports.passports_support import (
    STEP_ANSWERS,
    application,
    count,
    enable_passports,
    fill_in,
    start,
    submit,
)
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import PASSWORD, host, post_form

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("passports", locale="en")
    enable_passports(app, tenant)
    return tenant


@pytest.fixture()
def staff_client(app, town):
    client = app.test_client()
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk", modules=["passports"])
    return client


def act(client, town, application_id, action, **data):
    return post_form(client, town, f"/admin/passports/{application_id}/{action}", data,
                     page=f"/admin/passports/{application_id}")


def test_the_whole_lifecycle_from_draft_to_collection(app, client, town, staff_client):
    signed_in_citizen(app, client, town, "fang@example.com")
    application_id = fill_in(client, town)
    assert application(app, town, application_id).status == "draft"
    assert client.get("/admin/passports/", headers=host(town)).status_code == 403  # not staff
    response = submit(client, town, application_id)
    assert response.status_code == 302
    submitted = application(app, town, application_id)
    assert submitted.status == "submitted" and submitted.sla_due is not None
    assert submitted.passport_number == "E12345678"
    assert submitted.id_number == "11010519850423002X"

    queue = staff_client.get("/admin/passports/", headers=host(town)).get_data(as_text=True)
    assert submitted.reference in queue
    assert act(staff_client, town, application_id, "claim").status_code == 302
    assert act(staff_client, town, application_id, "request-information",
               message="The photo is blurred: upload a sharper one.").status_code == 302
    page = client.get(f"/services/passports/{application_id}", headers=host(town))
    assert "The photo is blurred" in page.get_data(as_text=True)
    # The citizen may change the answers again, and answers the question.
    assert post_form(client, town, f"/services/passports/{application_id}/reason",
                     {"reason": "full"}).status_code == 302
    assert submit(client, town, application_id, reply="").status_code == 422
    assert submit(client, town, application_id, reply="A new photo is uploaded.") \
        .status_code == 302
    assert application(app, town, application_id).status == "submitted"
    for action in ("claim", "approve", "ready", "collected"):
        response = act(staff_client, town, application_id, action, notes=f"{action} ok")
        assert response.status_code == 302, (action, response.get_data(as_text=True))

    done = application(app, town, application_id)
    assert done.status == "collected" and done.reason == "full"
    assert [(e.from_status, e.to_status) for e in done.events] == [
        ("draft", "submitted"), ("submitted", "in_review"), ("in_review", "needs_information"),
        ("needs_information", "submitted"), ("submitted", "in_review"),
        ("in_review", "approved"), ("approved", "ready_for_collection"),
        ("ready_for_collection", "collected")]
    assert "claim ok" in done.staff_notes and "collected ok" in done.staff_notes
    with tenant_context(town, app):
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action.like("passports.%")).order_by(AuditEntry.id)).all()
        notified = db.session.scalar(sa.text(
            "SELECT count(*) FROM notifications WHERE event = 'passport_status'"))
    assert actions == ["passports.in_review", "passports.needs_information",
                       "passports.in_review", "passports.approved",
                       "passports.ready_for_collection", "passports.collected"]
    assert notified == 8  # one for each step
    timeline = client.get(f"/services/passports/{application_id}", headers=host(town))
    text = timeline.get_data(as_text=True)
    assert "Collected" in text and "Ready for collection" in text and "A new photo" in text


def test_a_rejection_needs_a_reason_that_the_citizen_reads(app, client, town, staff_client):
    signed_in_citizen(app, client, town, "li@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    act(staff_client, town, application_id, "claim")
    response = act(staff_client, town, application_id, "reject", message="")
    assert response.status_code == 422
    assert "Write the message to the applicant." in response.get_data(as_text=True)
    assert application(app, town, application_id).status == "in_review"
    act(staff_client, town, application_id, "reject", message="Your passport is still valid.")
    assert application(app, town, application_id).status == "rejected"
    page = client.get(f"/services/passports/{application_id}", headers=host(town))
    assert "Your passport is still valid." in page.get_data(as_text=True)


def test_moves_from_the_wrong_state_are_refused_with_409(app, client, town, staff_client):
    signed_in_citizen(app, client, town, "zhou@example.com")
    application_id = fill_in(client, town)
    # Staff can't see or move a draft; it is the citizen's own.
    assert staff_client.get(f"/admin/passports/{application_id}",
                            headers=host(town)).status_code == 404
    submit(client, town, application_id)
    response = act(staff_client, town, application_id, "approve")
    assert response.status_code == 409
    assert "it can&#39;t become “Approved” now" in response.get_data(as_text=True)
    assert application(app, town, application_id).status == "submitted"
    # Once submitted, the citizen can't change it nor submit it again.
    assert client.get(f"/services/passports/{application_id}/personal",
                      headers=host(town)).status_code == 409
    response = submit(client, town, application_id)
    assert response.status_code == 409
    assert count(app, town, "SELECT count(*) FROM passport_events") == 1
    assert count(app, town, "SELECT count(*) FROM audit_log WHERE action LIKE 'passports.%'") \
        == 0


def test_an_incomplete_application_is_not_submitted(app, client, town):
    signed_in_citizen(app, client, town, "wu@example.com")
    application_id = start(client, town)
    post_form(client, town, f"/services/passports/{application_id}/personal",
              STEP_ANSWERS["personal"])
    response = submit(client, town, application_id)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your passport photo" in page and "Household register page" in page
    assert application(app, town, application_id).status == "draft"


def test_bad_answers_keep_the_values_and_name_the_problem(app, client, town):
    signed_in_citizen(app, client, town, "he@example.com")
    application_id = start(client, town)
    response = post_form(client, town, f"/services/passports/{application_id}/personal", {
        **STEP_ANSWERS["personal"], "id_number": "12345"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An identity card number has 17 digits" in page and "Wang Fang" in page
    assert application(app, town, application_id).full_name == ""
    response = post_form(client, town, f"/services/passports/{application_id}/collection", {
        "collection_method": "office", "office": "Nowhere office"})
    assert response.status_code == 422
    assert "Choose the office where you will pick it up." in response.get_data(as_text=True)


def test_the_draft_is_kept_between_visits(app, client, town):
    signed_in_citizen(app, client, town, "sun@example.com")
    application_id = start(client, town)
    post_form(client, town, f"/services/passports/{application_id}/personal",
              STEP_ANSWERS["personal"])
    later = app.test_client()
    post_form(later, town, "/account/login",
              {"identifier": "sun@example.com", "password": PASSWORD})
    assert start(later, town) == application_id  # the same draft, not a new one
    page = later.get(f"/services/passports/{application_id}/personal", headers=host(town))
    assert 'value="Wang Fang"' in page.get_data(as_text=True)
    account = later.get("/account/", headers=host(town)).get_data(as_text=True)
    assert f"PP{application_id:08d}" in account and "Draft" in account


def test_another_citizens_application_is_not_found(app, client, town):
    signed_in_citizen(app, client, town, "owner@example.com")
    application_id = fill_in(client, town)
    other = app.test_client()
    signed_in_citizen(app, other, town, "other@example.com")
    for path in ("", "/personal", "/documents", "/review"):
        assert other.get(f"/services/passports/{application_id}{path}",
                         headers=host(town)).status_code == 404
    # With a valid CSRF token, so that only the ownership check can refuse it.
    response = post_form(other, town, f"/services/passports/{application_id}/submit", {},
                         page="/services/passports/")
    assert response.status_code == 404
    assert application(app, town, application_id).status == "draft"


def test_another_citys_application_is_not_found(app, client, town, make_city):
    signed_in_citizen(app, client, town, "a@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    elsewhere = make_city("passports-b", locale="en")
    enable_passports(app, elsewhere)
    staff = app.test_client()
    signed_in_staff(app, staff, elsewhere, "boss@example.com", role="admin")
    assert staff.get(f"/admin/passports/{application_id}", headers=host(elsewhere)) \
        .status_code == 404
    assert staff.get(f"/admin/passports/{application_id}/documents/1",
                     headers=host(elsewhere)).status_code == 404
    # The citizen's session is worthless on the other city's site.
    assert client.get(f"/services/passports/{application_id}",
                      headers=host(elsewhere)).status_code == 302


def test_a_disabled_module_answers_404(app, client, make_city):
    tenant = make_city("no-passports", locale="en")
    signed_in_citizen(app, client, tenant, "c@example.com")
    assert client.get("/services/passports/", headers=host(tenant)).status_code == 404
    assert post_form(client, tenant, "/services/passports/new", {},
                     page="/account/").status_code == 404
    staff = app.test_client()
    signed_in_staff(app, staff, tenant, "admin@example.com", role="admin")
    assert staff.get("/admin/passports/", headers=host(tenant)).status_code == 404
    assert "/services/passports/" not in client.get("/", headers=host(tenant)).get_data(
        as_text=True)


def test_staff_of_other_modules_are_refused(app, town):
    staff = app.test_client()
    signed_in_staff(app, staff, town, "parks@example.com", role="clerk", modules=["parking"])
    assert staff.get("/admin/passports/", headers=host(town)).status_code == 403


def test_the_queue_puts_overdue_cases_first_and_filters(app, client, town, staff_client):
    signed_in_citizen(app, client, town, "q@example.com")
    first = fill_in(client, town)
    submit(client, town, first)
    second_client = app.test_client()
    signed_in_citizen(app, second_client, town, "r@example.com")
    second = fill_in(second_client, town)
    submit(second_client, town, second)
    with tenant_context(town, app):  # the second is older and past its deadline
        db.session.execute(sa.update(PassportApplication).where(
            PassportApplication.id == second).values(
            submitted_at=sa.func.now() - sa.text("interval '20 days'"),
            sla_due=sa.func.current_date() - 3))
        db.session.commit()
    page = staff_client.get("/admin/passports/", headers=host(town)).get_data(as_text=True)
    assert page.index(f"PP{second:08d}") < page.index(f"PP{first:08d}")
    assert "overdue" in page
    old = staff_client.get("/admin/passports/?age=14", headers=host(town)).get_data(
        as_text=True)
    assert f"PP{second:08d}" in old and f"PP{first:08d}" not in old
    act(staff_client, town, first, "claim")
    reviewing = staff_client.get("/admin/passports/?status=in_review",
                                 headers=host(town)).get_data(as_text=True)
    assert f"PP{first:08d}" in reviewing and f"PP{second:08d}" not in reviewing
