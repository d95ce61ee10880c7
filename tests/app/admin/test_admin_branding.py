"""The console's branding page: administrators only, every field checked and named, saved all
at once with its audit entry, the citizen site changed at once, a preview that saves nothing,
and the content security policy of the console (its own scripts) and of the city (none)."""
import io

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.branding.models import Branding
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.models import PlatformAuditEntry, Tenant
from tests.conftest import form_token
from tests.support.accounts import add_citizen, sign_in_to_admin, signed_in_staff
from tests.support.cities import host
from tests.support.images import SVG, png

PAGE = "/admin/branding"


@pytest.fixture()
def town(make_city):
    return make_city("look", locale="en", timezone="Asia/Shanghai")


@pytest.fixture()
def admin(app, client, town, uploads):
    return signed_in_staff(app, client, town, "boss@example.com", role="admin")


def valid_form(town, **changes) -> dict:
    data = {"name": town.name, "name_zh": town.name_zh, "tagline": "", "tagline_zh": "",
            "primary_color": "#1f4e8c", "accent_color": "#f2b632", "hero_pattern": "dots",
            "contact_address": "", "contact_address_zh": "", "contact_phone": "",
            "contact_email": "", "opening_hours": "", "opening_hours_zh": "",
            "languages": ["zh_Hans", "en"], "default_language": "en",
            "timezone": "Asia/Shanghai", "action": "save"}
    data.update(changes)
    return data


def post(client, town, data):
    token = form_token(client.get(PAGE, headers=host(town)))
    return client.post(PAGE, data={"csrf_token": token, **data}, headers=host(town),
                       content_type="multipart/form-data")


def saved(app, town) -> dict:
    with tenant_context(town, app):
        row = db.session.get(Branding, 1)
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "branding.update")).all()
        result = {"primary": row.primary_color if row else None,
                  "phone": row.contact_phone if row else None,
                  "favicon": row.favicon_file if row else None, "audit": entries}
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == town.slug))
        result.update(name=tenant.name, timezone=tenant.timezone)
    return result


def test_only_administrators_may_edit_the_branding(app, client, town):
    response = client.get(PAGE, headers=host(town))
    assert response.status_code == 302 and "/admin/login" in response.location
    add_citizen(app, town, "citizen@example.com")
    sign_in_to_admin(client, town, "citizen@example.com")
    assert client.get(PAGE, headers=host(town)).status_code == 403
    signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    assert client.get(PAGE, headers=host(town)).status_code == 403
    assert client.get(PAGE + "/preview", headers=host(town)).status_code == 403
    assert client.get("/admin/dashboard", headers=host(town)).status_code == 200


def test_a_saved_change_shows_on_the_citizen_site_at_once_with_its_audit_entry(
        app, client, town, admin):
    before = client.get("/", headers=host(town)).get_data(as_text=True)
    assert town.name in before and 'content="#1f4e8c"' in before
    response = post(client, town, valid_form(
        town, name="Greenfield", name_zh="绿野市", primary_color="#1B5E20",
        contact_phone="0578-2012345", timezone="Europe/Berlin",
        favicon=(io.BytesIO(png()), "tab.png")))
    assert response.status_code == 302, response.get_data(as_text=True)
    state = saved(app, town)
    assert (state["primary"], state["phone"], state["name"], state["timezone"]) == (
        "#1b5e20", "0578-2012345", "Greenfield", "Europe/Berlin")
    assert state["favicon"].startswith("favicon-") and state["favicon"].endswith(".png")
    (entry,) = state["audit"]
    assert entry.actor.startswith("user:") and entry.actor.endswith("boss@example.com")
    assert entry.before["primary_color"] == "#1f4e8c" and entry.after["primary_color"] == \
        "#1b5e20"
    assert entry.before["name"] == town.name and entry.after["name"] == "Greenfield"
    assert entry.after["timezone"] == "Europe/Berlin"
    with app.app_context():
        actions = set(db.session.scalars(sa.select(PlatformAuditEntry.action).where(
            PlatformAuditEntry.tenant_slug == town.slug)))
    assert {"tenant.name", "tenant.name_zh", "tenant.timezone"} <= actions

    page = client.get("/", headers=host(town)).get_data(as_text=True)
    assert "Greenfield" in page and 'content="#1b5e20"' in page and "0578-2012345" in page
    assert f"/brand/{state['favicon'].replace('.png', '')[:24]}" in page
    favicon = client.get("/favicon.ico", headers=host(town))
    assert client.get(favicon.location, headers=host(town)).data == png()
    with app.app_context():
        assert directory().get(town.slug).timezone == "Europe/Berlin"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"primary_color": "green"}, "primary_color", "Enter a colour as a hex code"),
    ({"primary_color": "#9fc5e8"}, "primary_color",
     "The primary colour is too light: white text on it has a contrast of"),
    ({"accent_color": "#333333"}, "accent_color", "The accent colour is too dark"),
    ({"timezone": "Mars/Olympus"}, "timezone", "There is no time zone Mars/Olympus"),
    ({"contact_email": "not an address"}, "contact_email", "Enter an email address"),
    ({"languages": ["zh_Hans"], "default_language": "en"}, "default_language",
     "The default language must be one of the languages offered."),
    ({"name": "  "}, "name", "name in English."),
    ({"logo": (io.BytesIO(b"GIF89a not allowed"), "logo.gif")}, "logo",
     "be used: choose a PNG, JPEG or SVG image"),
])
def test_a_refused_field_is_named_and_nothing_is_saved(app, client, town, admin, changes,
                                                       field, message):
    response = post(client, town, valid_form(town, contact_phone="0571 1234", **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert 'value="0571 1234"' in page  # the values entered are kept
    state = saved(app, town)
    assert state["phone"] in (None, "") and state["audit"] == [] and state["name"] == town.name


def test_the_preview_shows_the_colours_entered_and_saves_nothing(app, client, town, admin):
    response = post(client, town, valid_form(town, primary_color="#0b3d2e",
                                             name="Previewtown", action="preview"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "/admin/branding/preview-0b3d2e-f2b632.css" in page and "Previewtown" in page
    assert saved(app, town)["audit"] == []
    css = client.get("/admin/branding/preview-0b3d2e-f2b632.css", headers=host(town))
    assert css.mimetype == "text/css" and b"--brand: #0b3d2e" in css.data
    assert client.get("/admin/branding/preview-zzz-f2b632.css",
                      headers=host(town)).status_code == 404
    pane = client.get(PAGE + "/preview?primary_color=%23a0a0a0&accent_color=%23f2b632",
                      headers=host(town)).get_data(as_text=True)
    assert "<html" not in pane and "Too little contrast" in pane and "preview-a0a0a0" in pane


def test_a_new_logo_and_a_removed_one(app, client, town, admin):
    assert post(client, town, valid_form(town, logo=(io.BytesIO(SVG), "logo.svg"))
                ).status_code == 302
    assert "/brand/logo-" in client.get("/", headers=host(town)).get_data(as_text=True)
    response = post(client, town, valid_form(town, logo=(io.BytesIO(SVG), "logo.svg"),
                                             remove_logo="y"))
    assert response.status_code == 422 and "not both" in response.get_data(as_text=True)
    assert post(client, town, valid_form(town, remove_logo="y")).status_code == 302
    assert "/brand/logo-" not in client.get("/", headers=host(town)).get_data(as_text=True)
    assert len(saved(app, town)["audit"]) == 2


def test_a_form_without_its_csrf_token_is_refused(app, client, town, admin):
    response = client.post(PAGE, data=valid_form(town, name="Forged"), headers=host(town))
    assert response.status_code == 400
    assert saved(app, town)["name"] == town.name


def test_the_console_may_run_its_own_scripts_and_the_city_site_none(app, client, town, admin):
    admin_page = client.get(PAGE, headers=host(town))
    policy = admin_page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert '<script src="/static/js/admin.js" defer></script>' in admin_page.get_data(
        as_text=True)
    assert "script-src 'none'" in client.get("/", headers=host(town)).headers[
        "Content-Security-Policy"]
    script = client.get("/static/js/admin.js", headers=host(town))
    assert script.status_code == 200 and b"eval(" not in script.data


def test_the_icp_filing_number_is_checked_and_then_shown_in_the_footer(app, client, town,
                                                                        admin):
    refused = post(client, town, valid_form(town, icp_filing="ICP 12345"))
    assert refused.status_code == 422
    assert "such as 浙ICP备12345678号-1" in refused.get_data(as_text=True)
    assert "beian.miit.gov.cn" not in client.get("/", headers=host(town)).get_data(as_text=True)
    saved_number = post(client, town, valid_form(town, icp_filing="京ICP证030173号"))
    assert saved_number.status_code == 302
    (entry,) = saved(app, town)["audit"]
    assert entry.after["icp_filing"] == "京ICP证030173号"
    assert "京ICP证030173号" in client.get("/", headers=host(town)).get_data(as_text=True)
