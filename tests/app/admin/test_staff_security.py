"""Staff accounts an attacker cannot keep: lost second factors reset by a city administrator,
audited and set up again at the next sign-in; recovery codes made anew; invitations revoked, and
an invitation sent again taking no second seat."""
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from app.staff.models import RecoveryCode, StaffInvitation
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import Plan
from tenants.provisioning import set_plan
from tests.support.accounts import add_staff, sign_in_to_admin, sign_in_with_2fa
from tests.support.cities import audit_entries, host, post_form


@pytest.fixture()
def town(make_city):
    return make_city("stf", locale="en")


def test_an_administrator_resets_a_staff_member_s_lost_second_factor(app, town):
    admin, member = add_staff(app, town, "chief@example.com"), add_staff(
        app, town, "lost-phone@example.com", role="clerk")
    boss, staff_browser = app.test_client(), app.test_client()
    sign_in_with_2fa(boss, town, admin)
    sign_in_with_2fa(staff_browser, town, member)
    page = f"/admin/staff/{member['staff_id']}"
    path = f"/admin/staff/{member['staff_id']}/second-factor/reset"
    assert boss.post(path, headers=host(town)).status_code == 400  # no CSRF token
    assert post_form(boss, town, path, {}, page=page).status_code == 302
    # signed out everywhere; the old code and recovery codes no longer pass; set up again
    assert staff_browser.get("/admin/", headers=host(town)).location.startswith("/admin/login")
    sign_in_to_admin(staff_browser, town, member["email"])
    assert staff_browser.get("/admin/", headers=host(town)).location == "/admin/2fa/setup"
    assert staff_browser.get("/admin/2fa", headers=host(town)).location == "/admin/2fa/setup"
    with tenant_context(town, app):  # the recovery codes are gone with the secret
        assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.staff_id == member["staff_id"])) == 0
    (entry,) = audit_entries(app, town, "staff.second_factor_reset")
    assert entry.actor.startswith("user:") and entry.target == f"staff:{member['staff_id']}"


def test_an_administrator_can_not_reset_their_own_second_factor(app, client, town):
    admin = add_staff(app, town, "self@example.com")
    sign_in_with_2fa(client, town, admin)
    post_form(client, town, f"/admin/staff/{admin['staff_id']}/second-factor/reset", {},
              page=f"/admin/staff/{admin['staff_id']}")
    assert client.get("/admin/", headers=host(town)).status_code == 200
    assert audit_entries(app, town, "staff.second_factor_reset") == []


def test_staff_make_new_recovery_codes_with_a_current_code(app, client, town):
    member = add_staff(app, town, "codes@example.com", role="viewer")
    sign_in_with_2fa(client, town, member)
    wrong = post_form(client, town, "/admin/2fa/recovery-codes", {"code": "000000"})
    assert wrong.status_code == 401
    next_code = pyotp.TOTP(member["secret"]).at(time.time() + 30)  # the sign-in used this one's
    page = post_form(client, town, "/admin/2fa/recovery-codes", {"code": next_code})
    assert page.status_code == 200
    new_codes = re.findall(r"\b[a-z2-9]{5}-[a-z2-9]{5}\b", page.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(member["codes"])
    assert audit_entries(app, town, "staff.recovery_codes_regenerated")
    other = app.test_client()
    sign_in_to_admin(other, town, member["email"])
    assert post_form(other, town, "/admin/2fa", {"code": member["codes"][0]}).status_code == 401
    assert post_form(other, town, "/admin/2fa", {"code": new_codes[0]}).status_code == 302


def _invite(client, town, email, role="viewer"):
    return post_form(client, town, "/admin/staff/invite", {"email": email, "role": role})


def test_a_revoked_invitation_link_no_longer_works_and_frees_its_seat(app, client, town,
                                                                     outbox):
    admin = add_staff(app, town, "inviter@example.com")
    sign_in_with_2fa(client, town, admin)
    assert _invite(client, town, "maybe@example.com").status_code == 302
    link = re.search(r"http://\S+/admin/invitation/\S+", outbox(town.slug)[-1].get_content())
    path = link.group(0).split(town.domains[0])[1]
    with tenant_context(town, app):
        invitation_id = db.session.scalar(sa.select(StaffInvitation.id).where(
            StaffInvitation.email == "maybe@example.com"))
    assert post_form(client, town, f"/admin/staff/invitations/{invitation_id}/revoke", {},
                     page="/admin/staff").status_code == 302
    assert app.test_client().get(path, headers=host(town)).status_code == 400
    assert "Revoke the invitation of maybe@example.com" not in client.get(
        "/admin/staff", headers=host(town)).get_data(as_text=True)
    assert audit_entries(app, town, "staff.invitation_revoked")


def test_inviting_the_same_address_again_resends_and_takes_no_second_seat(app, client, town,
                                                                         outbox, new_slug):
    key = new_slug("plan")
    with app.app_context():
        db.session.add(Plan(key=key, name=key.title(), name_zh=key, modules=[], staff_seats=2))
        db.session.commit()
        set_plan(town.slug, key)
    admin = add_staff(app, town, "seats@example.com")
    sign_in_with_2fa(client, town, admin)
    assert _invite(client, town, "twice@example.com", "viewer").status_code == 302
    assert _invite(client, town, "Twice@Example.com", "admin").status_code == 302  # no 422
    assert _invite(client, town, "third@example.com").status_code == 422  # 2 seats taken
    with tenant_context(town, app):
        (invitation,) = db.session.scalars(sa.select(StaffInvitation)).all()
        assert invitation.role == "admin"
    assert [m["To"] for m in outbox(town.slug)] == ["twice@example.com"] * 2
    assert audit_entries(app, town, "staff.invite_resent")
