"""The privacy notice: the standard one filled with the city's details, published versions
from the console (administrators only, checked, audited), consent with the version shown
recorded at registration, and the footer's links, in both languages."""
import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.branding.change import BrandingChange, apply_branding
from app.privacy.models import PrivacyNotice
from app.privacy.notice import publish_notice
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import add_citizen, sign_in_to_admin, signed_in_staff
from tests.support.cities import CONSENT, PASSWORD, audit_entries, host, post_form

PAGE = "/admin/privacy"


@pytest.fixture()
def town(make_city):
    return make_city("priv", name_zh="隐私市")  # Chinese by default


def register(client, town, email, **fields):
    return post_form(client, town, "/account/register", {
        "email": email, "password": PASSWORD, "confirm": PASSWORD, **fields})


def accounts(app, town) -> dict:
    with tenant_context(town, app):
        return {user.email: (user.privacy_version, user.privacy_accepted_at) for user in
                db.session.scalars(sa.select(User))}


def published(app, town) -> list[tuple]:
    with tenant_context(town, app):
        return db.session.execute(sa.select(
            PrivacyNotice.version, PrivacyNotice.body_zh, PrivacyNotice.body_en,
            PrivacyNotice.published_by).order_by(PrivacyNotice.version)).all()


def set_branding(app, town, **texts):
    with app.app_context():
        apply_branding(town, BrandingChange(texts=texts), "test")


def in_english(client, town):
    client.get("/lang/en?next=/", headers=host(town))


def test_the_standard_notice_is_filled_with_the_citys_details_in_both_languages(
        app, client, town):
    set_branding(app, town, contact_email="privacy@priv.example")
    chinese = client.get("/privacy", headers=host(town)).get_data(as_text=True)
    assert "隐私市隐私政策" in chinese
    assert "privacy@priv.example" in chinese and town.domains[0] in chinese
    assert 'lang="zh-Hans"' in chinese and "第 1 版" in chinese
    in_english(client, town)
    english = client.get("/privacy", headers=host(town)).get_data(as_text=True)
    assert f"Privacy notice of {town.name}" in english
    assert "privacy@priv.example" in english and town.domains[0] in english
    assert "Version 1: the standard notice" in english


def test_a_registration_without_consent_is_refused_and_creates_nothing(app, client, town):
    refused = register(client, town, "no@example.com", privacy_version="1")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "请先同意隐私政策" in page and 'aria-invalid="true"' in page
    in_english(client, town)
    page = register(client, town, "no@example.com", privacy_version="1").get_data(as_text=True)
    assert "Accept the privacy notice to create an account." in page
    assert 'href="/privacy"' in page and "Read the privacy notice (version 1)" in page
    assert accounts(app, town) == {}


def test_a_registration_with_consent_records_the_version_and_when(app, client, town):
    assert register(client, town, "yes@example.com", **CONSENT).status_code == 200
    ((version, accepted_at),) = accounts(app, town).values()
    assert version == 1 and accepted_at is not None


def test_a_published_edit_is_version_2_which_new_registrations_accept(app, client, town):
    admin = client.application.test_client()
    signed_in_staff(app, admin, town, "boss@example.com", role="admin")
    form = admin.get(PAGE, headers=host(town)).get_data(as_text=True)
    assert "第 1 版" in form and town.domains[0] in form  # the standard text to start from
    shown_v1 = client.get("/account/register", headers=host(town))  # before the edit
    assert shown_v1.status_code == 200
    response = post_form(admin, town, PAGE, {"body_zh": "第一段。\r\n\r\n第二段。",
                                             "body_en": "First paragraph.\n\nSecond."})
    assert response.status_code == 302
    ((version, body_zh, body_en, by),) = published(app, town)
    assert (version, body_zh, body_en) == (2, "第一段。\n\n第二段。", "First paragraph.\n\nSecond.")
    assert by.endswith("boss@example.com")
    (entry,) = audit_entries(app, town, "privacy.publish")
    assert entry.before == {"version": 1} and entry.after["version"] == 2
    page = client.get("/privacy", headers=host(town)).get_data(as_text=True)
    assert "<p>第一段。</p>" in page and "<p>第二段。</p>" in page and "第 2 版" in page
    # Consent given to the page shown before the edit is consent to version 1: asked again.
    stale = register(client, town, "stale@example.com", **CONSENT)
    assert stale.status_code == 422 and "隐私政策已更新" in stale.get_data(as_text=True)
    assert register(client, town, "new@example.com", privacy_consent="y",
                    privacy_version="2").status_code == 200
    assert accounts(app, town)["new@example.com"][0] == 2
    # The same texts again publish nothing; the console lists version 2.
    assert post_form(admin, town, PAGE, {"body_zh": "第一段。\n\n第二段。",
                                         "body_en": "First paragraph.\n\nSecond."}
                     ).status_code == 302
    assert len(published(app, town)) == 1
    in_english(admin, town)
    console = admin.get(PAGE, headers=host(town)).get_data(as_text=True)
    assert "Version 2, published on" in console and "boss@example.com" in console


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"body_zh": "   ", "body_en": "Text."}, 422, "Enter the notice in Chinese."),
    ({"body_zh": "文字。", "body_en": ""}, 422, "Enter the notice in English."),
    ({"body_zh": "长" * 20_001, "body_en": "Text."}, 422, "20000"),
    ({"body_zh": "文字。", "body_en": "Te\x00xt."}, 400, "NUL"),
])
def test_bad_notices_are_refused_and_nothing_is_published(app, client, town, data, status,
                                                          message):
    signed_in_staff(app, client, town, "boss@example.com", role="admin")
    in_english(client, town)
    response = post_form(client, town, PAGE, data)
    assert response.status_code == status and message in response.get_data(as_text=True)
    assert published(app, town) == [] and audit_entries(app, town, "privacy.publish") == []


def test_only_administrators_edit_the_notice(app, client, town):
    add_citizen(app, town, "citizen@example.com")
    sign_in_to_admin(client, town, "citizen@example.com")
    assert client.get(PAGE, headers=host(town)).status_code == 403
    signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    assert client.get(PAGE, headers=host(town)).status_code == 403
    assert post_form(client, town, PAGE, {"body_zh": "文字。", "body_en": "Text."},
                     page="/admin/dashboard").status_code == 403
    assert published(app, town) == []


def test_every_footer_links_the_notice_and_shows_the_icp_number_only_when_set(
        app, client, town):
    pages = ("/", "/privacy", "/account/login", "/admin/login")
    for path in pages:
        page = client.get(path, headers=host(town)).get_data(as_text=True)
        assert 'href="/privacy">隐私政策</a>' in page and "beian.miit.gov.cn" not in page
    set_branding(app, town, icp_filing="浙ICP备12345678号-1")
    in_english(client, town)
    for path in pages:
        page = client.get(path, headers=host(town)).get_data(as_text=True)
        assert 'href="/privacy">Privacy notice</a>' in page
        assert '<a href="https://beian.miit.gov.cn/" rel="noopener">浙ICP备12345678号-1</a>' in page


# -- accounts that accepted no notice (made by a sign-in provider or a staff invitation) -----

def test_an_account_without_consent_is_asked_on_its_first_page_and_it_is_recorded(
        app, client, town):
    signed_in_staff(app, client, town, "invited@example.com", accepted_privacy=False)
    in_english(client, town)
    asked = client.get("/search?q=x", headers=host(town))
    assert asked.status_code == 302
    assert asked.location == "/privacy/accept?next=/search?q%3Dx"
    page = client.get(asked.location, headers=host(town))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Accept the privacy notice" in text
    assert 'name="privacy_version"' in text and "version 1" in text
    # the notice, the data and closing (refused to staff) stay open without consent; the
    # console too
    for path, status in (("/privacy", 200), ("/account/data.json", 200),
                         ("/account/close", 403), ("/admin/", 200)):
        assert client.get(path, headers=host(town)).status_code == status, path
    refused = post_form(client, town, asked.location, {"privacy_version": "1"})
    assert refused.status_code == 422 and "Accept the privacy notice" in refused.get_data(
        as_text=True)
    assert accounts(app, town)["invited@example.com"] == (None, None)
    accepted = post_form(client, town, asked.location, CONSENT)
    assert accepted.status_code == 302 and accepted.location == "/search?q=x"
    version, when = accounts(app, town)["invited@example.com"]
    assert version == 1 and when is not None
    assert client.get("/account/", headers=host(town)).status_code == 200


def test_consent_to_a_notice_replaced_meanwhile_is_asked_again(app, client, town):
    signed_in_staff(app, client, town, "slow@example.com", accepted_privacy=False)
    page = "/privacy/accept?next=/account/"
    shown = client.get(page, headers=host(town))
    with tenant_context(town, app):  # a new version is published while the page is open
        publish_notice("新的隐私政策全文。" * 5, "The new privacy notice in full. " * 5, "test")
        db.session.commit()
    late = client.post(page, headers=host(town), data={
        **CONSENT, "csrf_token": form_token(shown)})
    assert late.status_code == 422
    assert accounts(app, town)["slow@example.com"] == (None, None)


def test_the_next_page_after_consent_stays_on_the_site(app, client, town):
    signed_in_staff(app, client, town, "hop@example.com", accepted_privacy=False)
    answer = post_form(client, town, "/privacy/accept?next=//evil.example/", CONSENT,
                       page="/privacy/accept")
    assert answer.status_code == 302 and answer.location == "/account/"
