"""Plans: the console's pages, and what a plan allows a city — enforced in the module framework,
the city admin's module pages, `flask tenants modules`, and staff invitations (seats). A city
reads its own plan only."""
import pytest
import sqlalchemy as sa

from app.entitlements import current_entitlements
from app.modules import ModuleError, configure, discover
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import Plan
from tenants.provisioning import set_plan
from tests.app.platform.conftest import PLATFORM, post_platform
from tests.support.accounts import signed_in_staff
from tests.support.cities import host, post_form

ALLOWED = "announcements"


@pytest.fixture()
def other_module():
    """A module the test plans leave out."""
    return next(key for key in sorted(discover()) if key != ALLOWED)


@pytest.fixture()
def make_plan(app, new_slug):
    def make(modules=(ALLOWED,), staff_seats=None):
        key = new_slug("plan")
        with app.app_context():
            db.session.add(Plan(key=key, name=key.title(), name_zh=key, modules=list(modules),
                                staff_seats=staff_seats))
            db.session.commit()
        return key

    return make


@pytest.fixture()
def planned_city(app, make_city, make_plan):
    city = make_city("planned", locale="en")
    with app.app_context():
        return set_plan(city.slug, make_plan(staff_seats=2))


def test_admins_create_edit_and_delete_plans(app, client, vendor_admin, new_slug, make_city):
    key = new_slug("gold")
    response = post_platform(client, "/console/plans/new", {
        "key": key, "name_zh": "金", "name": "Gold", "modules": [ALLOWED], "staff_seats": "5"})
    assert response.status_code == 302
    response = post_platform(client, "/console/plans/new", {
        "key": key, "name_zh": "金", "name": "Gold", "staff_seats": "0"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A plan with this key exists already." in body and "Enter a number from 1" in body
    post_platform(client, f"/console/plans/{key}", {
        "key": "renamed", "name_zh": "金", "name": "Gold plus", "modules": [], "staff_seats": ""})
    with app.app_context():
        plan = db.session.scalar(sa.select(Plan).where(Plan.key == key))
        assert (plan.name, plan.modules, plan.staff_seats) == ("Gold plus", [], None)
        set_plan(make_city("gold").slug, key)
    response = post_platform(client, f"/console/plans/{key}/delete", {},
                             page=f"/console/plans/{key}")
    assert response.status_code == 302 and response.location == f"/console/plans/{key}"
    with app.app_context():
        assert db.session.scalar(sa.select(Plan.id).where(Plan.key == key)) is not None
        actions = db.session.scalars(sa.text(
            "SELECT action FROM platform.audit_log WHERE detail->>'plan' = :key ORDER BY id"),
            {"key": key}).all()
    assert actions == ["plan.create", "plan.update"]


def test_the_module_framework_enables_only_what_the_plan_allows(app, planned_city,
                                                                 other_module):
    with tenant_context(planned_city, app):
        assert current_entitlements().modules == frozenset({ALLOWED})
        configure(enable=[ALLOWED])
        with pytest.raises(ModuleError) as refused:
            configure(enable=[other_module])
        assert "plan" in str(refused.value)
        db.session.rollback()


def test_the_city_admin_sees_and_enables_only_plan_modules(app, client, planned_city,
                                                           other_module):
    signed_in_staff(app, client, planned_city, "boss@example.com")
    page = client.get("/admin/modules", headers=host(planned_city)).get_data(as_text=True)
    assert f"/admin/modules/{ALLOWED}" in page and f"/admin/modules/{other_module}" not in page
    assert client.get(f"/admin/modules/{other_module}",
                      headers=host(planned_city)).status_code == 404
    response = post_form(client, planned_city, f"/admin/modules/{other_module}",
                         {"enabled": "y"}, page=f"/admin/modules/{ALLOWED}")
    assert response.status_code == 404


def test_the_cli_lists_and_enables_only_plan_modules(cli, planned_city, other_module):
    result = cli.invoke(args=["tenants", "modules", planned_city.slug])
    assert result.exit_code == 0 and ALLOWED in result.output
    assert other_module not in result.output
    result = cli.invoke(args=["tenants", "modules", planned_city.slug, "--enable", other_module])
    assert result.exit_code == 1
    assert "not included in the city's plan" in result.output


def test_staff_seats_limit_invitations(app, client, cli, planned_city):
    signed_in_staff(app, client, planned_city, "chief@example.com")
    first = post_form(client, planned_city, "/admin/staff/invite",
                      {"email": "second@example.com", "role": "viewer"})
    assert first.status_code == 302
    second = post_form(client, planned_city, "/admin/staff/invite",
                       {"email": "third@example.com", "role": "viewer"})
    assert second.status_code == 422
    assert "Your plan has 2 staff seats" in second.get_data(as_text=True)
    result = cli.invoke(args=["tenants", "invite-admin", planned_city.slug, "x@example.com"])
    assert result.exit_code == 1 and "staff seats" in result.output


def test_a_city_reads_its_own_plan_and_nothing_else_of_the_platform(app, planned_city, cities):
    with tenant_context(planned_city, app):
        rows = db.session.execute(sa.text(
            "SELECT slug FROM platform_api.city_entitlements")).scalars().all()
        assert rows == [planned_city.slug]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            db.session.execute(sa.text("SELECT * FROM platform.plans"))
        db.session.rollback()
    with tenant_context(cities["alpha"], app):
        rows = db.session.execute(sa.text(
            "SELECT slug, limited FROM platform_api.city_entitlements")).all()
        assert [tuple(row) for row in rows] == [("alpha", False)]


def test_support_can_read_plans_but_not_change_them(app, client, make_vendor, make_plan):
    from tests.app.platform.conftest import sign_in_vendor_with_2fa

    key = make_plan()
    sign_in_vendor_with_2fa(client, make_vendor("support"))
    assert key in client.get("/console/plans", headers=PLATFORM).get_data(as_text=True)
    response = post_platform(client, f"/console/plans/{key}",
                             {"key": key, "name_zh": "x", "name": "Changed"})
    assert response.status_code == 403
