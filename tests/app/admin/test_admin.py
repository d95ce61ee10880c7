"""The city administration console at /admin: staff, roles, second factor, invitations, the
audit log."""
import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pyotp
import pytest
import sqlalchemy as sa

from app import crypto
from app.accounts.models import User
from app.audit import record
from app.audit.models import AuditEntry
from app.staff import invitations
from app.staff.models import RecoveryCode, StaffInvitation, StaffMember
from app.staff.permissions import can
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import (
    add_citizen,
    add_staff,
    sign_in_to_admin,
    sign_in_with_2fa,
    signed_in_staff,
)
from tests.support.cities import PASSWORD, audit_entries, host, post_form


@pytest.fixture()
def town(make_city):
    """A city of the test's own (English): throttling counters, staff and audit log empty."""
    return make_city("adm", locale="en")


def sign_out(client, tenant):
    token = form_token(client.get("/account/login", headers=host(tenant)))
    client.post("/admin/logout", data={"csrf_token": token}, headers=host(tenant))


def staff_row(app, tenant, staff_id) -> StaffMember:
    with tenant_context(tenant, app):
        staff = db.session.get(StaffMember, staff_id)
        db.session.expunge_all()
        return staff


def link_in(message) -> str:
    return re.search(r"http://\S+", message.get_content()).group(0)


def path_of(link, tenant) -> str:
    return link.split(tenant.domains[0], 1)[1]


# -- who may come in -----------------------------------------------------------------------------

def test_signed_out_visitors_are_sent_to_the_admin_sign_in(client, town):
    for path in ("/admin/", "/admin/staff", "/admin/audit?actor=x", "/admin/audit.csv"):
        response = client.get(path, headers=host(town))
        assert response.status_code == 302
        assert response.location.startswith("/admin/login?next=")
    assert "next=/admin/audit?actor%3Dx" in client.get(
        "/admin/audit?actor=x", headers=host(town)).location
    page = client.get("/admin/login", headers=host(town))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Administration" in body and "Adm" in body
    assert page.headers["Cache-Control"] == "no-store"


def test_a_citizen_gets_403(app, client, town):
    add_citizen(app, town, "citizen@example.com")
    response = sign_in_to_admin(client, town, "citizen@example.com")
    assert response.status_code == 302 and response.location == "/admin/"
    for path in ("/admin/", "/admin/staff", "/admin/audit", "/admin/2fa", "/admin/2fa/setup"):
        assert client.get(path, headers=host(town)).status_code == 403


def test_a_deactivated_staff_member_gets_403(app, client, town):
    member = add_staff(app, town, "former@example.com", active=False)
    sign_in_to_admin(client, town, member["email"])
    assert client.get("/admin/", headers=host(town)).status_code == 403


def test_wrong_password_is_refused_with_a_message(app, client, town):
    add_staff(app, town, "boss@example.com")
    response = sign_in_to_admin(client, town, "boss@example.com", "not the password")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_admin_sign_in_is_throttled(app, client, town):
    add_staff(app, town, "target@example.com")
    for _ in range(10):
        assert sign_in_to_admin(client, town, "target@example.com", "guess").status_code == 401
    assert sign_in_to_admin(client, town, "target@example.com").status_code == 429


# -- second factor -------------------------------------------------------------------------------

def test_staff_without_totp_enrol_with_a_qr_code_and_get_recovery_codes(app, client, town):
    member = add_staff(app, town, "new@example.com", enrolled=False)
    sign_in_to_admin(client, town, member["email"])
    response = client.get("/admin/", headers=host(town))
    assert response.status_code == 302 and response.location == "/admin/2fa/setup"
    assert client.get("/admin/2fa", headers=host(town)).location == "/admin/2fa/setup"

    page = client.get("/admin/2fa/setup", headers=host(town)).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and "<script" not in page and "style=" not in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    # the secret stays the same until confirmed (kept in the session)
    again = client.get("/admin/2fa/setup", headers=host(town)).get_data(as_text=True)
    assert secret in again.replace(" ", "")

    wrong = post_form(client, town, "/admin/2fa/setup", {"code": "123456"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    assert 'aria-invalid="true"' in wrong.get_data(as_text=True)
    assert staff_row(app, town, member["staff_id"]).totp_confirmed_at is None

    done = post_form(client, town, "/admin/2fa/setup", {"code": pyotp.TOTP(secret).now()})
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "recovery codes" in body
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", body)
    assert len(codes) == 10 and len(set(codes)) == 10

    assert client.get("/admin/", headers=host(town)).status_code == 200
    staff = staff_row(app, town, member["staff_id"])
    assert staff.totp_confirmed_at is not None and secret not in staff.totp_secret_encrypted
    with app.app_context():
        assert crypto.decrypt(staff.totp_secret_encrypted) == secret
    with tenant_context(town, app):
        hashes = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not any(code.replace("-", "") in hashes for code in codes)
    (entry,) = audit_entries(app, town, "staff.second_factor_enrolled")
    assert entry.actor == f"user:{member['user_id']}:new@example.com"
    # set up once: the page now leads home
    assert client.get("/admin/2fa/setup", headers=host(town)).location == "/admin/"


def test_the_second_factor_is_asked_after_each_sign_in_and_a_code_works_once(app, town):
    member = add_staff(app, town, "chief@example.com")
    client = app.test_client()
    sign_in_to_admin(client, town, member["email"], next_path="/admin/audit")
    response = client.get("/admin/", headers=host(town))
    assert response.status_code == 302 and response.location.startswith("/admin/2fa?next=")

    wrong = post_form(client, town, "/admin/2fa", {"code": "000000"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(member["secret"]).now()
    response = post_form(client, town, "/admin/2fa?next=/admin/audit", {"code": code})
    assert response.status_code == 302 and response.location == "/admin/audit"
    assert client.get("/admin/", headers=host(town)).status_code == 200

    sign_out(client, town)
    sign_in_to_admin(client, town, member["email"])
    assert client.get("/admin/", headers=host(town)).location.startswith("/admin/2fa")
    replay = post_form(client, town, "/admin/2fa", {"code": code})
    assert replay.status_code == 401  # the same code is not accepted twice


def test_a_recovery_code_works_once(app, client, town):
    member = add_staff(app, town, "lost-phone@example.com")
    code = member["codes"][0]
    sign_in_to_admin(client, town, member["email"])
    response = post_form(client, town, "/admin/2fa", {"code": code.upper()})
    assert response.status_code == 302
    assert "9 are left" in client.get("/admin/", headers=host(town)).get_data(as_text=True)
    (entry,) = audit_entries(app, town, "staff.recovery_code_used")
    assert entry.after == {"recovery_codes_left": 9}

    sign_out(client, town)
    sign_in_to_admin(client, town, member["email"])
    assert post_form(client, town, "/admin/2fa", {"code": code}).status_code == 401
    assert post_form(client, town, "/admin/2fa", {"code": member["codes"][1]}).status_code == 302


def test_a_password_change_elsewhere_ends_the_console_sign_in(app, client, town):
    member = signed_in_staff(app, client, town, "rotate@example.com")
    assert client.get("/admin/", headers=host(town)).status_code == 200
    phone = app.test_client()
    post_form(phone, town, "/account/login", {"identifier": member["email"],
                                              "password": PASSWORD})
    changed = post_form(phone, town, "/account/password", {
        "current_password": PASSWORD, "password": "lantern orbit velvet canyon",
        "confirm": "lantern orbit velvet canyon"})
    assert changed.status_code == 302
    assert client.get("/admin/", headers=host(town)).location.startswith("/admin/login")


def test_a_session_from_another_city_is_not_valid(app, client, make_city):
    first, second = make_city("adm", locale="en"), make_city("adm", locale="en")
    member = add_staff(app, first, "same@example.com")
    add_staff(app, second, "same@example.com")  # the same ids exist in both cities
    sign_in_with_2fa(client, first, member)
    assert client.get("/admin/", headers=host(first)).status_code == 200
    cookie = client.get_cookie("session", domain=first.domains[0])
    client.set_cookie("session", cookie.value, domain=second.domains[0])
    response = client.get("/admin/", headers=host(second))
    assert response.status_code == 302 and response.location.startswith("/admin/login")


# -- roles ---------------------------------------------------------------------------------------

def test_what_each_role_can_do():
    admin = StaffMember(role="admin", modules=[], active=True)
    manager = StaffMember(role="module_manager", modules=["announcements"], active=True)
    clerk = StaffMember(role="clerk", modules=["permits"], active=True)
    viewer = StaffMember(role="viewer", modules=[], active=True)
    gone = StaffMember(role="admin", modules=[], active=False)

    assert can(admin, "manage_staff") and can(admin, "configure_module", "permits")
    assert not any(can(s, "manage_staff") for s in (manager, clerk, viewer, gone))
    assert can(manager, "configure_module", "announcements")
    assert can(manager, "work_module", "announcements")
    assert not can(manager, "configure_module", "permits")
    assert can(clerk, "work_module", "permits") and can(clerk, "view", "permits")
    assert not can(clerk, "work_module", "announcements")
    assert not can(clerk, "view", "announcements")
    assert not can(clerk, "configure_module", "permits")
    assert not can(clerk, "work_module")  # a module action needs its module
    assert can(viewer, "view") and can(viewer, "view", "permits")
    assert not can(viewer, "work_module", "permits")
    assert all(can(s, "view") for s in (admin, manager, clerk, viewer))
    assert not can(gone, "view") and not can(None, "view")
    with pytest.raises(ValueError):
        can(admin, "fly")


def test_a_viewer_reads_the_audit_log_but_cannot_manage_staff(app, client, town):
    member = signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    home = client.get("/admin/", headers=host(town)).get_data(as_text=True)
    assert "Viewer" in home and "/admin/staff" not in home
    assert client.get("/admin/audit", headers=host(town)).status_code == 200
    for path in ("/admin/staff", "/admin/staff/invite", f"/admin/staff/{member['staff_id']}"):
        assert client.get(path, headers=host(town)).status_code == 403
    token = form_token(client.get("/admin/audit", headers=host(town)))
    response = client.post(f"/admin/staff/{member['staff_id']}", headers=host(town),
                           data={"csrf_token": token, "role": "admin"})
    assert response.status_code == 403
    assert staff_row(app, town, member["staff_id"]).role == "viewer"


# -- staff management ----------------------------------------------------------------------------

def test_an_admin_invites_a_new_person_who_creates_an_account(app, client, town, outbox):
    boss = signed_in_staff(app, client, town, "boss@example.com")
    refused = post_form(client, town, "/admin/staff/invite",
                        {"email": "Clerk@Example.com", "role": "clerk"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose at least one module" in body
    assert 'value="Clerk@Example.com"' in body and outbox(town.slug) == []

    response = post_form(client, town, "/admin/staff/invite", {
        "email": "Clerk@Example.com", "role": "clerk", "modules": ["announcements"]})
    assert response.status_code == 302 and response.location == "/admin/staff"
    assert "clerk@example.com" in client.get("/admin/staff", headers=host(town)).get_data(
        as_text=True)
    (message,) = outbox(town.slug)
    assert message["To"] == "clerk@example.com"
    path = path_of(link_in(message), town)
    assert path.startswith("/admin/invitation/")
    (invited,) = audit_entries(app, town, "staff.invite")
    assert invited.actor == f"user:{boss['user_id']}:boss@example.com"
    assert invited.after == {"email": "clerk@example.com", "role": "clerk",
                             "modules": ["announcements"]}

    newcomer = app.test_client()
    page = newcomer.get(path, headers=host(town))
    assert page.status_code == 200 and "Clerk" in page.get_data(as_text=True)
    short = post_form(newcomer, town, path, {"display_name": "Li", "password": "short",
                                             "confirm": "short"})
    assert short.status_code == 422 and 'value="Li"' in short.get_data(as_text=True)
    done = post_form(newcomer, town, path, {"display_name": "Li", "password": PASSWORD,
                                            "confirm": PASSWORD})
    assert done.status_code == 302 and done.location == "/admin/2fa/setup"
    assert newcomer.get("/admin/2fa/setup", headers=host(town)).status_code == 200
    with tenant_context(town, app):
        user = db.session.scalar(sa.select(User).where(User.email == "clerk@example.com"))
        staff = db.session.scalar(sa.select(StaffMember).where(StaffMember.user_id == user.id))
        assert (staff.role, staff.modules, staff.active) == ("clerk", ["announcements"], True)
        assert user.email_verified_at is not None
    (accepted,) = audit_entries(app, town, "staff.invitation_accepted")
    assert accepted.before is None and accepted.after["role"] == "clerk"
    # used: the link works once
    assert app.test_client().get(path, headers=host(town)).status_code == 400


def test_an_existing_account_holder_signs_in_to_accept(app, client, town):
    add_citizen(app, town, "resident@example.com")
    with tenant_context(town, app):
        with app.test_request_context("/", base_url=f"http://{town.domains[0]}"):
            _, link = invitations.invite("resident@example.com", "viewer", [], "test")
        db.session.commit()
    path = path_of(link, town)
    page = client.get(path, headers=host(town)).get_data(as_text=True)
    assert "sign in with it to accept" in page
    response = sign_in_to_admin(client, town, "resident@example.com", next_path=path)
    assert response.location == path
    accept = post_form(client, town, path, {})
    assert accept.status_code == 302 and accept.location == "/admin/"
    assert client.get("/admin/", headers=host(town)).location == "/admin/2fa/setup"
    assert client.get(path, headers=host(town)).status_code == 400


def test_expired_forged_and_other_city_invitations_are_refused(app, client, town, make_city):
    elsewhere = make_city("adm", locale="en")
    with tenant_context(town, app):
        invitation = StaffInvitation(email="x@example.com", role="admin", modules=[],
                                     invited_by="test")
        db.session.add(invitation)
        db.session.commit()
        fresh = invitations.token_for(invitation)
        past = int(time.time()) - 8 * 24 * 3600
        with mock.patch("itsdangerous.timed.time") as clock:
            clock.time.return_value = past
            expired = invitations.token_for(invitation)
    assert client.get(f"/admin/invitation/{fresh}", headers=host(town)).status_code == 200
    for token, tenant in ((expired, town), (fresh + "x", town), (fresh, elsewhere)):
        response = client.get(f"/admin/invitation/{token}", headers=host(tenant))
        assert response.status_code == 400
        assert "does not work" in response.get_data(as_text=True)


def test_an_admin_changes_roles_and_deactivates_staff(app, client, town):
    boss = add_staff(app, town, "boss@example.com")
    other = add_staff(app, town, "other@example.com", role="viewer")
    sign_in_with_2fa(client, town, boss)
    path = f"/admin/staff/{other['staff_id']}"
    response = post_form(client, town, path, {"role": "module_manager",
                                              "modules": ["announcements"]})
    assert response.status_code == 302
    staff = staff_row(app, town, other["staff_id"])
    assert (staff.role, staff.modules) == ("module_manager", ["announcements"])
    (entry,) = audit_entries(app, town, "staff.update")
    assert entry.before["role"] == "viewer" and entry.after["role"] == "module_manager"

    assert post_form(client, town, path + "/deactivate", {}, page=path).status_code == 302
    assert staff_row(app, town, other["staff_id"]).active is False
    assert post_form(client, town, path + "/reactivate", {}, page=path).status_code == 302
    assert staff_row(app, town, other["staff_id"]).active is True
    assert [e.action for e in audit_entries(app, town)][-2:] == [
        "staff.deactivate", "staff.reactivate"]


def test_the_last_admin_cannot_demote_or_deactivate_themselves(app, client, town):
    boss = signed_in_staff(app, client, town, "boss@example.com")
    path = f"/admin/staff/{boss['staff_id']}"
    response = post_form(client, town, path, {"role": "viewer"})
    assert response.status_code == 422
    assert "last city administrator" in response.get_data(as_text=True)
    post_form(client, town, path + "/deactivate", {}, page=path)
    staff = staff_row(app, town, boss["staff_id"])
    assert (staff.role, staff.active) == ("admin", True)
    assert audit_entries(app, town, "staff.update") == []
    assert audit_entries(app, town, "staff.deactivate") == []

    add_staff(app, town, "second@example.com")  # with another admin, stepping down works
    assert post_form(client, town, path, {"role": "viewer"}).status_code == 302
    assert staff_row(app, town, boss["staff_id"]).role == "viewer"
    assert client.get("/admin/staff", headers=host(town)).status_code == 403


@pytest.mark.parametrize("change", ["role", "deactivate", "invite"])
def test_a_change_and_its_audit_entry_are_saved_together_or_not_at_all(app, client, town,
                                                                      outbox, change):
    from app import audit

    boss = add_staff(app, town, "boss@example.com")
    other = add_staff(app, town, "other@example.com", role="viewer")
    sign_in_with_2fa(client, town, boss)
    before = len(audit_entries(app, town))
    original = audit.record

    def broken_record(actor, action, *args, **kwargs):  # an entry the database refuses
        return original(actor, "x" * 200, *args, **kwargs)

    path = f"/admin/staff/{other['staff_id']}"
    page = client.get(path, headers=host(town))
    with mock.patch.object(audit, "record", broken_record), pytest.raises(sa.exc.DBAPIError):
        if change == "role":
            client.post(path, headers=host(town), data={
                "csrf_token": form_token(page), "role": "admin"})
        elif change == "deactivate":
            client.post(path + "/deactivate", headers=host(town),
                        data={"csrf_token": form_token(page)})
        else:
            client.post("/admin/staff/invite", headers=host(town), data={
                "csrf_token": form_token(page), "email": "n@example.com", "role": "viewer"})
    staff = staff_row(app, town, other["staff_id"])
    assert (staff.role, staff.active) == ("viewer", True)
    assert len(audit_entries(app, town)) == before
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count(StaffInvitation.id))) == 0


# -- audit log -----------------------------------------------------------------------------------

def _entries(app, tenant):
    now = datetime.now(UTC)
    with tenant_context(tenant, app):
        db.session.add_all([
            AuditEntry(actor="user:1:ann@example.com", action="module.configure",
                       target="announcements", before={"enabled": False},
                       after={"enabled": True}, occurred_at=now - timedelta(days=10)),
            AuditEntry(actor="cli:root", action="staff.invite", target="invitation:1",
                       after={"email": "=cmd|' /C calc'!A0"}, occurred_at=now),
            AuditEntry(actor="user:2:bob@example.com", action="announcements.publish",
                       target="announcement:5", occurred_at=now - timedelta(days=1)),
        ])
        db.session.commit()


def test_the_audit_log_is_searchable_by_person_module_and_date(app, client, town):
    viewer = add_staff(app, town, "viewer@example.com", role="viewer")
    _entries(app, town)
    sign_in_with_2fa(client, town, viewer)

    def actions(query):
        body = client.get(f"/admin/audit?{query}", headers=host(town)).get_data(as_text=True)
        return re.findall(r"<td><code>([a-z_.]+)</code></td>", body)

    assert actions("") == ["staff.invite", "announcements.publish", "module.configure"]
    assert actions("actor=BOB") == ["announcements.publish"]
    assert actions("actor=%25") == [] and actions("actor=_") == []  # wildcards are literal
    assert actions("action=%25") == [] and actions("action=_") == []
    assert actions("action=module.") == ["module.configure"]
    assert actions("action=announcements") == ["announcements.publish", "module.configure"]
    today = datetime.now(UTC).date()
    week_ago = (today - timedelta(days=7)).isoformat()
    assert "module.configure" not in actions(f"date_from={week_ago}")
    assert actions(f"date_to={week_ago}") == ["module.configure"]
    bad = client.get(f"/admin/audit?date_from={today}&date_to={week_ago}", headers=host(town))
    assert bad.status_code == 422 and "before the start date" in bad.get_data(as_text=True)
    assert f'value="{today}"' in bad.get_data(as_text=True)


def test_the_audit_log_exports_the_same_filter_as_csv(app, client, town):
    viewer = add_staff(app, town, "viewer@example.com", role="viewer")
    _entries(app, town)
    sign_in_with_2fa(client, town, viewer)
    page = client.get("/admin/audit?action=announcements", headers=host(town))
    assert "/admin/audit.csv?action=announcements" in page.get_data(as_text=True)
    response = client.get("/admin/audit.csv?action=announcements", headers=host(town))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "occurred_at", "actor", "action", "target", "before", "after"]
    assert [row[3] for row in rows[1:]] == ["announcements.publish", "module.configure"]
    everything = client.get("/admin/audit.csv", headers=host(town)).get_data(as_text=True)
    assert "'=cmd" not in everything  # JSON starts with {, so not a formula
    assert "cli:root" in everything


def test_the_audit_log_cannot_be_changed_from_the_console(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.audit")]
    assert rules and all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in rules)


# -- the command line ----------------------------------------------------------------------------

def test_invite_admin_from_the_command_line(app, cli, town, outbox):
    result = cli.invoke(args=["tenants", "invite-admin", town.slug, "First@Example.com"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith(f"http://{town.domains[0]}/admin/invitation/")
    (message,) = outbox(town.slug)
    assert message["To"] == "first@example.com" and link in message.get_content()
    (entry,) = audit_entries(app, town, "staff.invite")
    assert entry.actor.startswith("cli") and entry.after["role"] == "admin"

    client = app.test_client()
    path = path_of(link, town)
    done = post_form(client, town, path, {"display_name": "First", "password": PASSWORD,
                                          "confirm": PASSWORD})
    assert done.status_code == 302 and done.location == "/admin/2fa/setup"

    assert cli.invoke(args=["tenants", "invite-admin", "no-such-city", "a@b.c"]).exit_code != 0
    clerk = cli.invoke(args=["tenants", "invite-admin", town.slug, "c@example.com",
                             "--role", "clerk"])
    assert clerk.exit_code != 0 and "--module" in clerk.output


def test_links_made_from_the_command_line_carry_the_public_port(app, cli, town, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_PORT", "5000")
    result = cli.invoke(args=["tenants", "invite-admin", town.slug, "porter@example.com"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith(
        f"http://{town.domains[0]}:5000/admin/invitation/")


def test_the_audit_log_shows_chinese_values_as_written(app, client, town):
    signed_in_staff(app, client, town)
    with tenant_context(town, app):
        record("user:1", "branding.update", "branding", {"tagline": "绿水青山"},
               {"tagline": "首都政务服务"})
        db.session.commit()
    page = client.get("/admin/audit", headers=host(town)).get_data(as_text=True)
    assert "绿水青山" in page and "首都政务服务" in page
    assert "\\u" not in page
