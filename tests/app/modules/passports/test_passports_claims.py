"""Claims and the paused SLA clock through HTTP: a case claimed by one member of staff is
moved only by them or a city administrator, others take it over explicitly (audited); the
deadline moves later by the working days the case waited for the citizen."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.modules.passports.models import PassportApplication
from app.modules.passports.workflow import add_working_days
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.passports.passports_support import (
    application,
    enable_passports,
    fill_in,
    submit,
)
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import host, post_form

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("passport-claims", locale="en")
    enable_passports(app, tenant)
    return tenant


def staff(app, town, email, role="clerk"):
    client = app.test_client()
    member = signed_in_staff(app, client, town, email, role=role, modules=["passports"])
    return client, member["user_id"]


def act(client, town, application_id, action, **data):
    return post_form(client, town, f"/admin/passports/{application_id}/{action}", data,
                     page=f"/admin/passports/{application_id}")


def audited(app, town) -> list[tuple[str, dict, dict]]:
    with tenant_context(town, app):
        return [(e.action, e.before, e.after) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action.like("passports.%"))
            .order_by(AuditEntry.id))]


def test_only_the_claimant_or_an_administrator_moves_a_claimed_case(app, client, town):
    signed_in_citizen(app, client, town, "claims@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    ann, ann_id = staff(app, town, "ann@example.com")
    bo, bo_id = staff(app, town, "bo@example.com")
    boss, _boss_id = staff(app, town, "boss@example.com", role="admin")
    # Nobody claimed it yet: nothing to take over.
    assert act(bo, town, application_id, "take-over").status_code == 409
    assert act(ann, town, application_id, "claim").status_code == 302

    refused = act(bo, town, application_id, "approve")
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "has claimed application" in text and "Take over this case" in text
    assert application(app, town, application_id).status == "in_review"
    page = bo.get(f"/admin/passports/{application_id}", headers=host(town)).get_data(
        as_text=True)
    assert "Take over this case" in page and "Approve</button>" not in page

    assert act(bo, town, application_id, "take-over").status_code == 302
    taken = application(app, town, application_id)
    assert taken.assigned_user_id == bo_id and taken.status == "in_review"
    assert act(ann, town, application_id, "request-information",
               message="Upload a sharper photo.").status_code == 403
    assert act(bo, town, application_id, "approve").status_code == 302
    # A city administrator may act on anyone's case without taking it over.
    assert act(boss, town, application_id, "ready").status_code == 302
    done = application(app, town, application_id)
    assert done.status == "ready_for_collection" and done.assigned_user_id == bo_id
    assert [(action, before.get("assigned_user_id"), after.get("assigned_user_id"))
            for action, before, after in audited(app, town)] == [
        ("passports.in_review", None, ann_id),
        ("passports.take_over", ann_id, bo_id),
        ("passports.approved", bo_id, bo_id),
        ("passports.ready_for_collection", bo_id, bo_id)]


def test_the_deadline_waits_while_the_citizen_answers(app, client, town):
    signed_in_citizen(app, client, town, "waits@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    clerk, _clerk_id = staff(app, town, "clerk@example.com")
    act(clerk, town, application_id, "claim")
    act(clerk, town, application_id, "request-information", message="Which office?")
    due = date(2030, 1, 10)
    with tenant_context(town, app):  # asked a week ago: five working days, whatever today is
        db.session.execute(sa.update(PassportApplication).where(
            PassportApplication.id == application_id).values(
            sla_due=due, status_changed_at=sa.func.now() - sa.text("interval '7 days'")))
        db.session.commit()
    assert submit(client, town, application_id, reply="The east office.").status_code == 302
    answered = application(app, town, application_id)
    assert answered.status == "submitted"
    assert answered.sla_due == add_working_days(due, 5) == date(2030, 1, 17)
