"""Vendor staff sign in to the platform console: an account from `flask platform create-staff`,
a password of their own, and a TOTP second factor that is required."""
import re

import pyotp
import sqlalchemy as sa

from tenants.db import db
from tenants.models import PlatformAuditEntry, PlatformStaff
from tests.app.platform.conftest import (
    PLATFORM,
    post_platform,
    sign_in_vendor,
    sign_in_vendor_with_2fa,
)
from tests.conftest import form_token


def test_create_staff_prints_a_set_password_link_then_totp_is_required(app, client, cli):
    result = cli.invoke(args=["platform", "create-staff", "First.Vendor@CivicCloud.test",
                              "--role", "support"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://platform\.test(/\S+)", result.output).group(1)
    with app.app_context():
        staff = db.session.scalar(sa.select(PlatformStaff).where(
            PlatformStaff.email == "first.vendor@civiccloud.test"))
        assert staff.role == "support" and staff.password_hash is None
    # no password yet: signing in fails like a wrong password
    assert sign_in_vendor(client, {"email": "first.vendor@civiccloud.test"},
                          "anything at all").status_code == 401
    response = post_platform(client, link, {"password": "a long new password",
                                            "confirm": "a long new password"})
    assert response.status_code == 302 and response.location == "/console/2fa/setup"
    # the link works once
    assert client.get(link, headers=PLATFORM).status_code == 400
    # before the second factor is set up, the console is out of reach
    assert client.get("/console/", headers=PLATFORM).location == "/console/2fa/setup"
    page = client.get("/console/2fa/setup", headers=PLATFORM)
    body = page.get_data(as_text=True)
    assert "data:image/svg+xml" in body
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', body).group(1).replace(" ", "")
    response = client.post("/console/2fa/setup", headers=PLATFORM, data={
        "csrf_token": form_token(page), "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert len(re.findall(r"<li><code>[a-z0-9]{5}-[a-z0-9]{5}</code></li>",
                          response.get_data(as_text=True))) == 10
    assert client.get("/console/", headers=PLATFORM).status_code == 200
    with app.app_context():
        actions = db.session.scalars(sa.select(PlatformAuditEntry.action).where(
            PlatformAuditEntry.actor.like("%first.vendor@civiccloud.test")).order_by(
            PlatformAuditEntry.id)).all()
    assert actions == ["staff.password_set", "staff.second_factor_enrolled"]


def test_create_staff_refuses_bad_input_with_a_non_zero_exit(cli, make_vendor):
    assert cli.invoke(args=["platform", "create-staff", "not-an-email"]).exit_code != 0
    result = cli.invoke(args=["platform", "create-staff", "x@example.com", "--role", "boss"])
    assert result.exit_code != 0
    existing = make_vendor()
    result = cli.invoke(args=["platform", "create-staff", existing["email"]])
    assert result.exit_code == 1 and "exists already" in result.output


def test_password_then_totp_then_the_console(client, make_vendor):
    vendor = make_vendor()
    assert client.get("/console/", headers=PLATFORM).location.startswith("/console/login")
    assert sign_in_vendor(client, vendor, "wrong password").status_code == 401
    response = sign_in_vendor(client, vendor)
    assert response.status_code == 302
    assert client.get("/console/", headers=PLATFORM).location.startswith("/console/2fa")
    assert post_platform(client, "/console/2fa", {"code": "000000"}).status_code == 401
    response = post_platform(client, "/console/2fa", {"code": pyotp.TOTP(vendor["secret"]).now()})
    assert response.status_code == 302
    page = client.get("/console/", headers=PLATFORM)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_a_recovery_code_works_once(client, make_vendor):
    vendor = make_vendor()
    sign_in_vendor(client, vendor)
    assert post_platform(client, "/console/2fa", {"code": vendor["codes"][0]}).status_code == 302
    post_platform(client, "/console/logout", {}, page="/console/")
    sign_in_vendor(client, vendor)
    assert post_platform(client, "/console/2fa", {"code": vendor["codes"][0]}).status_code == 401


def test_sign_in_is_rate_limited_per_account(client, make_vendor):
    vendor = make_vendor()
    statuses = [sign_in_vendor(client, vendor, "wrong").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


def test_forms_without_the_csrf_token_are_refused(client, make_vendor):
    vendor = make_vendor()
    response = client.post("/console/login", headers=PLATFORM,
                           data={"email": vendor["email"], "password": "x"})
    assert response.status_code == 400


def test_reset_staff_ends_sessions_and_prints_a_new_link(app, client, cli, make_vendor):
    vendor = make_vendor()
    sign_in_vendor(client, vendor)
    result = cli.invoke(args=["platform", "reset-staff", vendor["email"], "--second-factor"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/", headers=PLATFORM).location.startswith("/console/login")
    assert sign_in_vendor(client, vendor).status_code == 401  # the old password is gone
    link = re.search(r"http://platform\.test(/\S+)", result.output).group(1)
    response = post_platform(client, link, {"password": "another long password",
                                            "confirm": "another long password"})
    assert response.location == "/console/2fa/setup"  # the second factor is set up again
    assert cli.invoke(args=["platform", "reset-staff", "nobody@example.com"]).exit_code == 1


def test_a_copied_console_cookie_is_worthless_after_sign_out(app, make_vendor):
    vendor = make_vendor()
    owner, thief = app.test_client(), app.test_client()
    sign_in_vendor_with_2fa(owner, vendor)
    thief.set_cookie("session", owner.get_cookie("session", domain="platform.test").value,
                     domain="platform.test")
    assert thief.get("/console/", headers=PLATFORM).status_code == 200
    post_platform(owner, "/console/logout", {}, page="/console/")
    assert thief.get("/console/", headers=PLATFORM).location.startswith("/console/login")
