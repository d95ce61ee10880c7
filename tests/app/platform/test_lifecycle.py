"""A city's lifecycle from the console: each step asks to confirm, then acts and is recorded in
the platform audit log; suspension and maintenance reach the city's sites at once."""
import sqlalchemy as sa

from tenants.db import db
from tests.app.platform.conftest import PLATFORM, post_platform
from tests.conftest import form_token
from tests.support.accounts import add_staff, sign_in_with_2fa


def _actions(app, slug) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.text(
            "SELECT action FROM platform.audit_log WHERE tenant_slug = :slug "
            "AND actor LIKE 'platform:%' ORDER BY id"), {"slug": slug}).all()


def test_every_step_asks_to_confirm_first(app, client, make_city, vendor_admin):
    city = make_city("confirm")
    page = client.get(f"/console/cities/{city.slug}/suspend", headers=PLATFORM)
    assert page.status_code == 200 and "Suspend the city" in page.get_data(as_text=True)
    assert client.get("/", headers={"Host": city.domains[0]}).status_code == 200
    assert _actions(app, city.slug) == []


def test_suspend_shows_citizens_503_and_admins_a_notice_then_resume(app, client, make_city,
                                                                    vendor_admin):
    city = make_city("pause", locale="en")
    member = add_staff(app, city, "mayor@example.com")
    assert post_platform(client, f"/console/cities/{city.slug}/suspend", {}).status_code == 302
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    assert client.get("/", headers=city_host).status_code == 503
    staff_client = app.test_client()
    sign_in_with_2fa(staff_client, city, member)
    notice = staff_client.get("/admin/", headers=city_host).get_data(as_text=True)
    assert "City suspended" in notice
    # a city that is not suspended can't be suspended again: the step is not offered
    again = post_platform(client, f"/console/cities/{city.slug}/suspend", {},
                          page=f"/console/cities/{city.slug}")
    assert again.status_code == 302
    assert post_platform(client, f"/console/cities/{city.slug}/resume", {}).status_code == 302
    assert client.get("/", headers=city_host).status_code == 200
    assert _actions(app, city.slug) == ["tenant.suspend", "tenant.resume"]


def test_maintenance_lets_citizens_look_but_not_submit(app, client, make_city, vendor_admin):
    city = make_city("maint", locale="en")
    member = add_staff(app, city, "keeper@example.com")
    post_platform(client, f"/console/cities/{city.slug}/maintenance-on", {})
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    visitor = app.test_client()
    page = visitor.get("/account/login", headers=city_host)
    assert page.status_code == 200 and "under maintenance" in page.get_data(as_text=True)
    refused = visitor.post("/account/login", headers=city_host, data={
        "csrf_token": form_token(page), "identifier": "a@example.com", "password": "x"})
    assert refused.status_code == 503
    assert "Under maintenance" in refused.get_data(as_text=True)
    # A provider's word that money was taken is still heard (here refused as unsigned: 400).
    assert visitor.post("/payments/notify/sandbox", headers=city_host,
                        data={"out_trade_no": "x"}).status_code == 400
    staff_client = app.test_client()
    sign_in_with_2fa(staff_client, city, member)  # the console still takes forms
    assert "maintenance mode" in staff_client.get("/admin/", headers=city_host).get_data(
        as_text=True)
    post_platform(client, f"/console/cities/{city.slug}/maintenance-off", {})
    assert visitor.post("/account/login", headers=city_host, data={
        "csrf_token": form_token(page), "identifier": "a@example.com",
        "password": "x"}).status_code == 401
    assert _actions(app, city.slug) == ["tenant.maintenance_on", "tenant.maintenance_off"]


def test_domains_are_validated_unique_and_the_last_stays(app, client, make_city, vendor_admin,
                                                         cities):
    city = make_city("dom")
    path = f"/console/cities/{city.slug}/add-domain"
    for bad, message in (("http://x.test/", "Enter a host name"),
                         ("alpha.test", "alpha.test already belongs to the city alpha."),
                         ("platform.test", "the platform&#39;s own host")):
        response = post_platform(client, path, {"domain": bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert post_platform(client, path, {"domain": f"www.{city.slug}.test"}).status_code == 302
    assert client.get("/", headers={"Host": f"www.{city.slug}.test"}).status_code == 200
    remove = f"/console/cities/{city.slug}/remove-domain"
    assert post_platform(client, remove, {"domain": city.domains[0]}).status_code == 302
    assert client.get("/", headers={"Host": city.domains[0]}).status_code == 404
    # one domain left: removing is not offered, and a forged post is refused
    page = client.get(f"/console/cities/{city.slug}", headers=PLATFORM).get_data(as_text=True)
    assert "remove-domain" not in page
    token = form_token(client.get(f"/console/cities/{city.slug}/add-domain", headers=PLATFORM))
    client.post(remove, headers=PLATFORM, data={"csrf_token": token,
                                                "domain": f"www.{city.slug}.test"})
    assert client.get("/", headers={"Host": f"www.{city.slug}.test"}).status_code == 200
    assert _actions(app, city.slug) == ["tenant.domain_add", "tenant.domain_remove"]


def test_retire_shows_the_retention_and_restore_brings_it_back(app, client, make_city,
                                                               vendor_admin):
    city = make_city("retire")
    page = client.get(f"/console/cities/{city.slug}/retire", headers=PLATFORM)
    assert 'value="90"' in page.get_data(as_text=True)  # TENANT_RETENTION_DAYS
    bad = post_platform(client, f"/console/cities/{city.slug}/retire", {"retention_days": "-1"})
    assert bad.status_code == 422
    post_platform(client, f"/console/cities/{city.slug}/retire", {"retention_days": "30"})
    assert client.get("/", headers={"Host": city.domains[0]}).status_code == 404
    body = client.get(f"/console/cities/{city.slug}", headers=PLATFORM).get_data(as_text=True)
    assert "Data kept until" in body and "Restore" in body
    post_platform(client, f"/console/cities/{city.slug}/restore", {})
    assert client.get("/", headers={"Host": city.domains[0]}).status_code == 200
    assert _actions(app, city.slug) == ["tenant.retire", "tenant.restore"]


def test_lifecycle_posts_need_the_csrf_token(app, client, make_city, vendor_admin):
    city = make_city("csrf")
    response = client.post(f"/console/cities/{city.slug}/suspend", headers=PLATFORM)
    assert response.status_code == 400
    assert client.get("/", headers={"Host": city.domains[0]}).status_code == 200
