"""Platform administrators reset a lost second factor: a vendor colleague's, or a city
administrator's (recorded with the reason in the city's log too); the account is signed out
everywhere and enrols again at its next sign-in."""
import sqlalchemy as sa

from tenants.db import db
from tenants.models import PLATFORM_SUPPORT, PlatformAuditEntry, PlatformStaff
from tests.app.platform.conftest import (
    PLATFORM,
    post_platform,
    sign_in_vendor,
    sign_in_vendor_with_2fa,
)
from tests.support.accounts import add_staff, sign_in_to_admin, sign_in_with_2fa
from tests.support.cities import audit_entries, host


def test_a_platform_admin_resets_a_colleague_s_second_factor(app, client, make_vendor,
                                                              vendor_admin):
    colleague = make_vendor(PLATFORM_SUPPORT)
    their_browser = app.test_client()
    sign_in_vendor_with_2fa(their_browser, colleague)
    path = f"/console/staff/{colleague['id']}/second-factor/reset"
    refused = post_platform(client, path, {"reason": ""}, page="/console/staff")
    assert refused.status_code == 422
    done = post_platform(client, path, {"reason": "Lost phone, checked by video call"},
                         page="/console/staff")
    assert done.status_code == 302
    assert their_browser.get("/console/", headers=PLATFORM).location.startswith("/console/login")
    sign_in_vendor(their_browser, colleague)
    assert their_browser.get("/console/", headers=PLATFORM).location == "/console/2fa/setup"
    with app.app_context():
        entry = db.session.scalar(sa.select(PlatformAuditEntry).where(
            PlatformAuditEntry.action == "staff.second_factor_reset").order_by(
            PlatformAuditEntry.id.desc()).limit(1))
        assert entry.detail["staff_id"] == colleague["id"]
        assert entry.detail["reason"] == "Lost phone, checked by video call"
        assert db.session.get(PlatformStaff, colleague["id"]).totp_confirmed_at is None


def test_support_staff_may_not_reset_second_factors(client, make_vendor):
    support, other = make_vendor(PLATFORM_SUPPORT), make_vendor()
    sign_in_vendor_with_2fa(client, support)
    assert client.get("/console/staff", headers=PLATFORM).status_code == 403
    refused = post_platform(client, f"/console/staff/{other['id']}/second-factor/reset",
                            {"reason": "none"}, page="/console/")
    assert refused.status_code == 403


def test_a_platform_admin_resets_a_city_administrator_s_second_factor(
        app, client, make_city, vendor_admin):
    city = make_city("lost", locale="en")
    chief = add_staff(app, city, "only-chief@example.com")
    chief_browser = app.test_client()
    sign_in_with_2fa(chief_browser, city, chief)
    response = post_platform(client, f"/console/cities/{city.slug}/second-factor", {
        "member": chief["staff_id"], "reason": "Ticket 9: the only admin lost her phone"})
    assert response.status_code == 302
    assert chief_browser.get("/admin/", headers=host(city)).location.startswith("/admin/login")
    sign_in_to_admin(chief_browser, city, chief["email"])
    assert chief_browser.get("/admin/", headers=host(city)).location == "/admin/2fa/setup"
    (entry,) = audit_entries(app, city, "staff.second_factor_reset")
    assert entry.actor == f"platform:{vendor_admin['id']}:{vendor_admin['email']}"
    assert entry.after["reason"] == "Ticket 9: the only admin lost her phone"
