"""Every sign-in is a row on the server: ending it ends the browser's session whatever the
browser kept (a copied cookie), and signing in or out starts a fresh cookie session."""
import re

import pyotp
import pytest

from tests.conftest import form_token
from tests.support.accounts import add_citizen, add_staff, sign_in_with_2fa
from tests.support.cities import PASSWORD, host, post_form

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture()
def town(make_city):
    return make_city("sess", locale="en")


def sign_in(client, tenant, email, password=PASSWORD):
    return post_form(client, tenant, "/account/login", {"identifier": email, "password": password})


def signed_in(client, tenant) -> bool:
    return client.get("/account/", headers=host(tenant)).status_code == 200


def sign_out(client, tenant):
    token = form_token(client.get("/account/", headers=host(tenant)))
    return client.post("/account/logout", headers=host(tenant), data={"csrf_token": token})


def test_a_copied_cookie_is_worthless_once_its_owner_signs_out(app, town):
    add_citizen(app, town, "copied@example.com")
    owner, thief = app.test_client(), app.test_client()
    sign_in(owner, town, "copied@example.com")
    cookie = owner.get_cookie("session", domain=town.domains[0]).value
    thief.set_cookie("session", cookie, domain=town.domains[0])
    assert signed_in(thief, town)
    sign_out(owner, town)
    assert not signed_in(thief, town)


def test_the_second_factor_does_not_outlive_its_sign_in(app, client, town):
    first = add_staff(app, town, "first@example.com")
    second = add_staff(app, town, "second@example.com")
    sign_in_with_2fa(client, town, first)
    assert client.get("/admin/", headers=host(town)).status_code == 200
    # signing out on the citizen site and in again with the password only: asked for a code
    sign_out(client, town)
    assert sign_in(client, town, first["email"]).status_code == 302
    assert client.get("/admin/", headers=host(town)).location.startswith("/admin/2fa")
    # another staff member on the same browser: asked for their own code
    sign_out(client, town)
    assert sign_in(client, town, second["email"]).status_code == 302
    assert client.get("/admin/", headers=host(town)).location.startswith("/admin/2fa")
    assert post_form(client, town, "/admin/2fa", {
        "code": pyotp.TOTP(second["secret"]).now()}).status_code == 302
    assert client.get("/admin/", headers=host(town)).status_code == 200


def test_my_account_lists_the_devices_and_signs_one_out(app, town):
    add_citizen(app, town, "devices@example.com")
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = IPHONE
    sign_in(laptop, town, "devices@example.com")
    sign_in(phone, town, "devices@example.com")
    page = laptop.get("/account/", headers=host(town)).get_data(as_text=True)
    assert "Firefox on Windows" in page and "Safari on iPhone" in page
    assert "this device" in page
    forms = re.findall(r'action="(/account/devices/(\d+)/sign-out)"', page)
    assert len(forms) == 2
    phone_page = phone.get("/account/", headers=host(town)).get_data(as_text=True)
    phone_id = re.search(r'<strong>Safari on iPhone</strong>\s*<span class="badge">this device'
                         r'</span>.*?/account/devices/(\d+)/sign-out', phone_page, re.S).group(1)
    refused = laptop.post(f"/account/devices/{phone_id}/sign-out", headers=host(town))
    assert refused.status_code == 400 and signed_in(phone, town)  # no CSRF token
    done = post_form(laptop, town, f"/account/devices/{phone_id}/sign-out", {},
                     page="/account/")
    assert done.status_code == 302
    assert not signed_in(phone, town) and signed_in(laptop, town)
    # another account's device can't be signed out from here
    add_citizen(app, town, "stranger@example.com")
    stranger = app.test_client()
    sign_in(stranger, town, "stranger@example.com")
    mine = re.search(r"/account/devices/(\d+)/sign-out",
                     laptop.get("/account/", headers=host(town)).get_data(as_text=True)).group(1)
    assert post_form(stranger, town, f"/account/devices/{mine}/sign-out", {},
                     page="/account/").status_code == 404
    assert signed_in(laptop, town)


def test_deactivating_a_staff_member_signs_them_out_everywhere_at_once(app, town):
    admin, member = add_staff(app, town, "chief@example.com"), add_staff(
        app, town, "leaving@example.com", role="clerk")
    boss, leaver = app.test_client(), app.test_client()
    sign_in_with_2fa(boss, town, admin)
    sign_in_with_2fa(leaver, town, member)
    assert post_form(boss, town, f"/admin/staff/{member['staff_id']}/deactivate", {},
                     page=f"/admin/staff/{member['staff_id']}").status_code == 302
    assert not signed_in(leaver, town)


def test_suspending_the_city_ends_its_sign_ins(app, cli, town):
    member = add_staff(app, town, "suspended@example.com")
    client = app.test_client()
    sign_in_with_2fa(client, town, member)
    assert cli.invoke(args=["tenants", "suspend", town.slug]).exit_code == 0
    try:
        response = client.get("/admin/", headers=host(town))
        assert response.status_code == 302 and response.location.startswith("/admin/login")
    finally:
        assert cli.invoke(args=["tenants", "resume", town.slug]).exit_code == 0
