"""Offices and required documents named in Chinese and English: settings of the old shape (one
name a line) still load, the console's page edits both side by side and refuses bad names
saving nothing, and the citizen's pages, notifications and API show the name in the reader's
language, the other where one is missing — an application made before included."""
import re

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.modules import CityModule, ModuleError, configure, settings_of
from app.modules.passports.demo import DEMO_SETTINGS
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.passports.passports_support import (
    PDF,
    STEP_ANSWERS,
    enable_passports,
    fill_in,
    start,
    submit,
    upload,
)
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import audit_entries, host, post_form
from tests.support.images import png
from tests.support.oauth import add_client, bearer, citizen_token

pytestmark = pytest.mark.usefixtures("uploads")

CENTRE_ZH, CENTRE = "丽水市民服务中心（花园路 1 号）", "Lishui Civic Service Centre, 1 Huayuan Road"
REGISTER_ZH = "户口簿本人页"
NAMES = "/admin/passports/offices-and-documents"


def store_old_shape(app, tenant) -> None:
    """The settings as cities kept them before the two languages: one name a line."""
    with tenant_context(tenant, app):
        db.session.add(CityModule(key="passports", enabled=True, settings={
            "offices": f"{CENTRE_ZH}\nEast district office", "required_documents": REGISTER_ZH,
            "fee_fen": 0, "sla_working_days": 10, "public_holidays": ""}))
        db.session.commit()


def names_form(page) -> dict:
    """The names page's fields as the browser sends them."""
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]* id="([a-z_]+-\d+-name(?:_zh)?)"[^>]*value="([^"]*)"',
                             html))
    for name in re.findall(r'<input[^>]* id="([a-z_]+-\d+-name(?:_zh)?)"', html):
        fields.setdefault(name, "")
    return fields


def save_names(client, tenant, **changes):
    page = client.get(NAMES, headers=host(tenant))
    return post_form(client, tenant, NAMES, {**names_form(page), **changes})


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("pp-names", locale="zh_Hans")
    store_old_shape(app, tenant)
    return tenant


def test_settings_of_the_old_shape_load_each_name_by_its_characters(app, town):
    with tenant_context(town, app):
        settings = settings_of("passports")
    assert settings["offices"] == [{"name": "", "name_zh": CENTRE_ZH},
                                   {"name": "East district office", "name_zh": ""}]
    assert settings["required_documents"] == [{"name": "", "name_zh": REGISTER_ZH}]


def test_an_application_made_before_shows_its_office_in_the_readers_language(app, client,
                                                                           town):
    """A citizen chose the office under its one name; the city then names it in English too:
    the application shows it in each language, and is still complete."""
    signed_in_citizen(app, client, town, "fang@example.com")
    application_id = start(client, town)
    for step, answers in {**STEP_ANSWERS, "collection": {
            "collection_method": "office", "office": CENTRE_ZH}}.items():
        assert post_form(client, town, f"/services/passports/{application_id}/{step}",
                         answers).status_code == 302
    assert upload(client, town, application_id, "photo", png()).status_code == 302
    assert upload(client, town, application_id, REGISTER_ZH, PDF).status_code == 302

    admin = app.test_client()
    signed_in_staff(app, admin, town, "admin@example.com", role="admin")
    saved = save_names(admin, town, **{"offices-0-name": CENTRE,
                                       "required_documents-0-name": "Household register page"})
    assert saved.status_code == 302, saved.get_data(as_text=True)

    detail = f"/services/passports/{application_id}"
    chinese = client.get(detail, headers=host(town)).get_data(as_text=True)
    assert CENTRE_ZH in chinese and CENTRE not in chinese
    client.get("/lang/en", headers=host(town))
    review = client.get(f"{detail}/review", headers=host(town)).get_data(as_text=True)
    assert f"At the office: {CENTRE}" in review and CENTRE_ZH not in review
    assert "Household register page:" in review  # the file's kind, in English now
    assert "Before you can submit" not in review  # still the office and document it needs
    assert submit(client, town, application_id).status_code == 302


def test_a_name_missing_in_one_language_falls_back_to_the_other(app, client, town):
    signed_in_citizen(app, client, town, "li@example.com")
    client.get("/lang/en", headers=host(town))
    application_id = start(client, town)
    page = client.get(f"/services/passports/{application_id}/collection",
                      headers=host(town)).get_data(as_text=True)
    assert f'<option value="{CENTRE_ZH}">{CENTRE_ZH}</option>' in page  # no English name
    assert '<option value="East district office">East district office</option>' in page
    documents = client.get(f"/services/passports/{application_id}/documents",
                           headers=host(town)).get_data(as_text=True)
    assert f'<option value="{REGISTER_ZH}">{REGISTER_ZH}</option>' in documents


def test_the_console_edits_both_names_side_by_side_and_audits(app, client, town):
    signed_in_staff(app, client, town, "admin@example.com", role="admin")
    page = client.get(NAMES, headers=host(town)).get_data(as_text=True)
    fieldset = re.search(r'<fieldset class="bilingual">(.*?)</fieldset>', page, re.DOTALL).group(1)
    assert 'id="offices-0-name_zh"' in fieldset and 'id="offices-0-name"' in fieldset
    assert 'lang="zh-Hans"' in fieldset and f'value="{CENTRE_ZH}"' in fieldset
    # Two offices and three empty rows to add more; one document and three empty rows.
    assert len(re.findall(r'id="offices-\d+-name_zh"', page)) == 5
    assert len(re.findall(r'id="required_documents-\d+-name_zh"', page)) == 4
    response = save_names(client, town, **{
        "offices-1-name_zh": "东区办事处", "offices-2-name_zh": "北区办事处",
        "offices-2-name": "North office", "offices-0-name_zh": "", "offices-0-name": ""})
    assert response.status_code == 302
    with tenant_context(town, app):
        offices = settings_of("passports")["offices"]
    assert offices == [{"name": "East district office", "name_zh": "东区办事处"},
                       {"name": "North office", "name_zh": "北区办事处"}]
    (entry,) = audit_entries(app, town, "module.configure")
    assert entry.target == "passports" and entry.after["settings"]["offices"] == offices


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"offices-1-name": "x" * 201}, "offices-1-name", "最多 200 个字符"),
    ({"required_documents-0-name": "y" * 101}, "required_documents-0-name", "最多 100 个字符"),
    ({"offices-2-name_zh": "东区\tA"}, "offices-2-name_zh", "控制字符"),
    ({"offices-2-name": "East district office"}, "offices-2-name", "East district office"),
])
def test_a_bad_name_is_refused_by_its_field_and_nothing_is_saved(app, client, town, changes,
                                                                 field, message):
    signed_in_staff(app, client, town, "admin@example.com", role="admin")
    before = _settings(app, town)
    response = save_names(client, town, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'<a href="#{field}">[^<]*{re.escape(message)}', page), page
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"',
                     page)
    assert _settings(app, town) == before
    assert audit_entries(app, town, "module.configure") == []


def test_a_nul_character_is_refused_before_the_page_and_nothing_is_saved(app, client, town):
    signed_in_staff(app, client, town, "admin@example.com", role="admin")
    before = _settings(app, town)
    response = save_names(client, town, **{"offices-2-name": "North\x00office"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert _settings(app, town) == before


def test_staff_who_may_not_configure_read_the_names_and_cannot_change_them(app, client, town):
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk", modules=["passports"])
    page = client.get(NAMES, headers=host(town))
    assert page.status_code == 200
    assert re.search(r'<input[^>]*disabled[^>]*id="offices-0-name_zh"', page.get_data(
        as_text=True))
    refused = client.post(NAMES, headers=host(town), data={
        "csrf_token": form_token(page), "offices-0-name": "Mine"})
    assert refused.status_code == 403


def test_the_command_line_shape_and_bad_entries_are_checked_by_the_schema(app, town):
    with tenant_context(town, app):
        with pytest.raises(ModuleError) as refused:
            configure(values={"passports": {"offices": [{"name": "A", "name_zh": 3}]}})
        db.session.rollback()
        assert "passports.offices: 0: name:" in str(refused.value)
        with pytest.raises(ModuleError):
            configure(values={"passports": {"offices": "Same office\nSame office"}})
        db.session.rollback()
        with pytest.raises(ModuleError):
            configure(values={"passports": {"offices": [{"name": str(n)} for n in range(21)]}})
        db.session.rollback()
        configure(values={"passports": {"offices": "北区办事处\nNorth office"}})
        assert settings_of("passports")["offices"] == [{"name": "", "name_zh": "北区办事处"},
                                                       {"name": "North office", "name_zh": ""}]


def test_the_ready_notification_and_the_api_name_the_office_in_the_readers_language(
        app, client, make_city):
    town = make_city("pp-ready", locale="zh_Hans")
    enable_passports(app, town)  # English names only, as one a line
    admin = app.test_client()
    signed_in_staff(app, admin, town, "admin@example.com", role="admin")
    assert save_names(admin, town, **{"offices-1-name_zh": "东区办事处"}).status_code == 302
    user_id = signed_in_citizen(app, client, town, "wang@example.com")
    client.get("/lang/en", headers=host(town))
    application_id = fill_in(client, town)  # the office "East district office"
    assert submit(client, town, application_id).status_code == 302
    with tenant_context(town, app):
        db.session.get(User, user_id).locale = "en"  # notifications speak the account's
        db.session.commit()
    for action in ("claim", "approve", "ready"):
        response = post_form(admin, town, f"/admin/passports/{application_id}/{action}",
                             {"message": "", "notes": ""},
                             page=f"/admin/passports/{application_id}")
        assert response.status_code == 302, (action, response.get_data(as_text=True))
    with tenant_context(town, app):
        body = db.session.scalars(sa.select(Notification.body).where(
            Notification.user_id == user_id).order_by(Notification.id.desc())).first()
    assert "pick it up at East district office with your identity card" in body

    client_id, _ = add_client(app, town, scopes=("passports:read", "profile:read"))
    token = citizen_token(app, client, town, client_id, "passports:read")["access_token"]
    path = f"/api/v1/me/passport-applications/{application_id}"
    api = app.test_client()
    chinese = api.get(path, headers=bearer(town, token, **{"Accept-Language": "zh-CN"}))
    english = api.get(path, headers=bearer(town, token, **{"Accept-Language": "en"}))
    assert chinese.get_json()["office"] == "东区办事处"
    assert english.get_json()["office"] == "East district office"


def test_the_demo_cities_name_offices_and_documents_in_both_languages():
    for settings in DEMO_SETTINGS.values():
        for entry in [*settings["offices"], *settings.get("required_documents", [])]:
            assert entry["name"] and entry["name_zh"], entry


def _settings(app, tenant) -> dict:
    with tenant_context(tenant, app):
        return settings_of("passports")

