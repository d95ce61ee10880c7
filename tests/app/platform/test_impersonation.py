"""Impersonation: vendor staff enter a city's console as one of its staff through a signed,
single-use, short-lived link; it is recorded in both audit logs, shows a banner, ends at
expiry, and is refused on suspended cities. And the two consoles stay apart: vendor staff
reach a city's console only this way, city staff never reach the platform console."""
import re
import time
from unittest import mock

import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from tenants.db import db
from tenants.provisioning import set_status
from tests.app.platform.conftest import (
    PASSWORD,
    PLATFORM,
    post_platform,
    sign_in_vendor,
    sign_in_vendor_with_2fa,
)
from tests.conftest import form_token
from tests.support.accounts import (
    add_staff,
    sign_in_to_admin,
    sign_in_with_2fa,
    signed_in_staff,
)
from tests.support.cities import audit_entries


def _link(client, city, member, reason="Ticket 42"):
    response = post_platform(client, f"/console/cities/{city.slug}/impersonate",
                             {"member": member["staff_id"], "reason": reason})
    assert response.status_code == 200, response.get_data(as_text=True)
    link = re.search(r'href="(http://[^"]+/admin/impersonate/[^"]+)"',
                     response.get_data(as_text=True)).group(1)
    return link.split(city.domains[0], 1)[1]


def _enter(visitor, city, path):
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    page = visitor.get(path, headers=city_host)
    if page.status_code != 200:
        return page
    return visitor.post(path, headers=city_host, data={"csrf_token": form_token(page)})


def _platform_actions(app, slug):
    with app.app_context():
        return db.session.scalars(sa.text(
            "SELECT action FROM platform.audit_log WHERE tenant_slug = :slug "
            "AND action LIKE 'tenant.imperson%' ORDER BY id"), {"slug": slug}).all()


def test_support_enters_as_a_staff_member_once_with_a_banner_and_both_logs(
        app, client, make_city, make_vendor):
    city = make_city("imp", locale="en")
    member = add_staff(app, city, "clerk@example.com", role="viewer")
    vendor = make_vendor("support")
    sign_in_vendor_with_2fa(client, vendor)
    path = _link(client, city, member)
    visitor = app.test_client()
    entered = _enter(visitor, city, path)
    assert entered.status_code == 302 and entered.location == "/admin/"
    home = visitor.get("/admin/", headers={"Host": city.domains[0], "Accept-Language": "en"})
    body = home.get_data(as_text=True)
    assert home.status_code == 200 and "Vendor support session" in body
    assert vendor["email"] in body and "clerk@example.com" in body
    # single use: the same link again, even in another browser, is refused
    assert _enter(app.test_client(), city, path).status_code == 400
    assert _platform_actions(app, city.slug) == ["tenant.impersonate",
                                                 "tenant.impersonation_entered"]
    (start,) = audit_entries(app, city, "staff.impersonation_start")
    assert start.actor == f"platform:{vendor['id']}:{vendor['email']}"
    assert start.after["as"].startswith(f"user:{member['user_id']}:")


def test_the_session_ends_at_expiry(app, client, make_city, vendor_admin):
    city = make_city("expire", locale="en")
    member = add_staff(app, city, "boss@example.com")
    path = _link(client, city, member)
    visitor = app.test_client()
    _enter(visitor, city, path)
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    assert visitor.get("/admin/", headers=city_host).status_code == 200
    with visitor.session_transaction(headers=city_host) as session:  # 31 minutes later
        session["impersonation"] = {**session["impersonation"],
                                    "expires_at": int(time.time()) - 60}
    response = visitor.get("/admin/", headers=city_host)
    assert response.status_code == 302 and response.location == "/admin/login"
    assert visitor.get("/admin/", headers=city_host).location.startswith("/admin/login")
    (end,) = audit_entries(app, city, "staff.impersonation_end")
    assert end.after == {"reason": "expired"}
    assert end.actor.endswith(f"via platform:{vendor_admin['id']}")


def test_an_old_link_is_refused(app, client, make_city, vendor_admin):
    city = make_city("late", locale="en")
    member = add_staff(app, city, "boss@example.com")
    path = _link(client, city, member)
    three_minutes_later = int(time.time()) + 180
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=three_minutes_later):
        assert _enter(app.test_client(), city, path).status_code == 400
    assert _platform_actions(app, city.slug) == ["tenant.impersonate"]


def test_a_link_for_one_city_is_worthless_on_another(app, client, make_city, vendor_admin):
    city, other = make_city("one", locale="en"), make_city("two", locale="en")
    member = add_staff(app, city, "boss@example.com")
    path = _link(client, city, member)
    assert _enter(app.test_client(), other, path).status_code == 400
    assert _platform_actions(app, other.slug) == []
    # …and was not used up there: it still opens its own city.
    assert _enter(app.test_client(), city, path).status_code == 302


def test_refused_on_a_suspended_city(app, client, make_city, vendor_admin):
    city = make_city("susp", locale="en")
    member = add_staff(app, city, "boss@example.com")
    path = _link(client, city, member)
    with app.app_context():
        set_status(city.slug, "suspended")
    assert _enter(app.test_client(), city, path).status_code == 403
    page = client.get(f"/console/cities/{city.slug}/impersonate", headers=PLATFORM)
    assert page.status_code == 302
    assert _platform_actions(app, city.slug) == ["tenant.impersonate"]


def test_vendor_staff_reach_a_city_console_only_by_impersonation(app, client, make_city,
                                                                 vendor_admin):
    city = make_city("apart", locale="en")
    city_host = {"Host": city.domains[0]}
    # the platform session is worthless on the city's host
    assert client.get("/admin/", headers=city_host).location.startswith("/admin/login")
    # and the vendor account is not a city account
    assert sign_in_to_admin(client, city, vendor_admin["email"], PASSWORD).status_code == 401
    # the console's pages are not served on a city's host at all
    assert client.get("/console/", headers=city_host).status_code == 404


def test_city_staff_never_reach_the_platform_console(app, make_city):
    city = make_city("citystaff", locale="en")
    staff_client = app.test_client()
    signed_in_staff(app, staff_client, city, "cityadmin@example.com")
    assert staff_client.get("/console/", headers=PLATFORM).location.startswith("/console/login")
    response = sign_in_vendor(staff_client, {"email": "cityadmin@example.com"},
                              password="correct horse battery")
    assert response.status_code == 401
    assert staff_client.get("/admin/", headers=PLATFORM).status_code == 404
    # a city's session cookie copied onto the platform host does not verify there
    cookie = staff_client.get_cookie("session", domain=city.domains[0])
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain="platform.test")
    assert thief.get("/console/", headers=PLATFORM).location.startswith("/console/login")


def test_the_city_s_log_shows_the_reason_and_other_staff_see_a_banner(
        app, client, make_city, vendor_admin):
    city = make_city("why", locale="en")
    member = add_staff(app, city, "helped@example.com")
    colleague = add_staff(app, city, "colleague@example.com")
    colleague_browser = app.test_client()
    sign_in_with_2fa(colleague_browser, city, colleague)
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    assert "Vendor support is signed in" not in colleague_browser.get(
        "/admin/", headers=city_host).get_data(as_text=True)
    _enter(app.test_client(), city, _link(client, city, member, reason="Ticket 77: lost data"))
    (start,) = audit_entries(app, city, "staff.impersonation_start")
    assert start.after["reason"] == "Ticket 77: lost data"
    page = colleague_browser.get("/admin/", headers=city_host).get_data(as_text=True)
    assert "Vendor support is signed in" in page and vendor_admin["email"] in page
    assert "helped@example.com" in page


def test_suspending_the_city_ends_the_support_session(app, client, cli, make_city,
                                                      vendor_admin):
    city = make_city("stop", locale="en")
    member = add_staff(app, city, "boss@example.com")
    visitor = app.test_client()
    _enter(visitor, city, _link(client, city, member))
    city_host = {"Host": city.domains[0], "Accept-Language": "en"}
    assert visitor.get("/admin/", headers=city_host).status_code == 200
    assert cli.invoke(args=["tenants", "suspend", city.slug]).exit_code == 0
    response = visitor.get("/admin/", headers=city_host)
    assert response.status_code == 302 and response.location == "/admin/login"
    assert visitor.get("/admin/", headers=city_host).location.startswith("/admin/login")
    (end,) = audit_entries(app, city, "staff.impersonation_end")
    assert end.after == {"reason": "city suspended"}
