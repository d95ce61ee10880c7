"""Provisioning a city from the console: success, precise errors at their fields, and nothing
left behind on failure."""
from unittest import mock

import sqlalchemy as sa

from tenants.db import db
from tests.app.platform.conftest import PLATFORM, post_platform


def _form(slug, **changes):
    data = {"slug": slug, "name_zh": "新城", "name": "New Town", "domains": f"{slug}.test",
            "locale": "en", "timezone": "Asia/Shanghai", "plan": "", "modules": [],
            "admin_email": f"admin-{slug}@example.com"}
    data.update(changes)
    return data


def _leftovers(app, slug) -> dict:
    with app.app_context():
        return dict(db.session.execute(sa.text(
            "SELECT (SELECT count(*) FROM platform.tenants WHERE slug = :slug) AS tenants, "
            "(SELECT count(*) FROM pg_namespace WHERE nspname = :schema) AS schemas, "
            "(SELECT count(*) FROM pg_roles WHERE rolname = 'civic_' || (SELECT oid FROM "
            "pg_database WHERE datname = current_database()) || '_' || :stem) AS roles"),
            {"slug": slug, "schema": "city_" + slug.replace("-", "_"),
             "stem": slug.replace("-", "_")}).one()._mapping)


def test_a_city_is_provisioned_with_its_modules_and_invitation(app, client, new_slug, outbox,
                                                               vendor_admin):
    slug = new_slug("prov")
    response = post_platform(client, "/console/cities/new",
                             _form(slug, modules=["announcements"]))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location == f"/console/cities/{slug}"
    assert _leftovers(app, slug) == {"tenants": 1, "schemas": 1, "roles": 1}
    (invitation,) = outbox(slug)
    assert invitation["To"] == f"admin-{slug}@example.com"
    assert f"http://{slug}.test/admin/invitation/" in invitation.get_content()
    page = client.get(f"/console/cities/{slug}", headers=PLATFORM).get_data(as_text=True)
    assert "Announcements" in page and vendor_admin["email"] in page  # by its name
    with app.app_context():
        create = db.session.execute(sa.text(
            "SELECT actor, detail FROM platform.audit_log WHERE tenant_slug = :slug "
            "AND action = 'tenant.create'"), {"slug": slug}).one()
    assert create.actor.endswith(vendor_admin["email"])


def test_bad_fields_are_shown_at_the_field_and_nothing_is_made(app, client, new_slug,
                                                                 vendor_admin, cities):
    slug = new_slug("bad")
    response = post_platform(client, "/console/cities/new", _form(
        slug, admin_email="not an email", timezone="Mars/Olympus",
        domains=f"{slug}.test\nalpha.test"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address such as name@example.com." in body
    assert "Unknown time zone" in body
    assert "alpha.test already belongs to the city alpha." in body
    assert 'value="New Town"' in body  # the form keeps what was typed
    assert _leftovers(app, slug) == {"tenants": 0, "schemas": 0, "roles": 0}


def test_a_slug_clash_is_refused_at_the_slug(app, client, vendor_admin, cities):
    response = post_platform(client, "/console/cities/new", _form("alpha", domains="x.alpha.test"))
    assert response.status_code == 422
    assert "A city with this slug exists already" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.text(
            "SELECT count(*) FROM platform.tenant_domains WHERE host = 'x.alpha.test'")) == 0


def test_modules_outside_the_plan_are_refused(app, client, new_slug, vendor_admin):
    post_platform(client, "/console/plans/new", {
        "key": "tiny", "name_zh": "小", "name": "Tiny", "modules": [], "staff_seats": "2"})
    slug = new_slug("tiny")
    response = post_platform(client, "/console/cities/new",
                             _form(slug, plan="tiny", modules=["announcements"]))
    assert response.status_code == 422
    assert "The plan tiny does not include: announcements." in response.get_data(as_text=True)
    assert _leftovers(app, slug)["tenants"] == 0


def test_a_failure_after_the_city_exists_leaves_nothing_behind(app, client, new_slug,
                                                                 vendor_admin):
    slug = new_slug("fail")
    with mock.patch("app.staff.invitations.send_mail", side_effect=OSError("mail is down")):
        response = post_platform(client, "/console/cities/new", _form(slug))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The city could not be set up, so it was not created: mail is down" in body
    assert _leftovers(app, slug) == {"tenants": 0, "schemas": 0, "roles": 0}
    assert client.get(f"/console/cities/{slug}", headers=PLATFORM).status_code == 404
