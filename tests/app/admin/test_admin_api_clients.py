"""The console's API apps (OAuth clients) over HTTP: registered with the secret shown once,
refused with form errors that create nothing, revoked with their tokens; administrators
only; every change in the audit log."""
import sqlalchemy as sa

from app.oauth.models import OAuthClient, digest
from tenants.context import tenant_context
from tenants.db import db
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, host, post_form


def clients_of(app, tenant) -> list[OAuthClient]:
    with tenant_context(tenant, app):
        rows = db.session.scalars(sa.select(OAuthClient).order_by(OAuthClient.id)).all()
        db.session.expunge_all()
        return rows


def test_an_admin_registers_a_back_office_whose_secret_is_shown_once_then_revokes_it(
        app, client, make_city):
    town = make_city("apps", locale="en")
    signed_in_staff(app, client, town)
    home = client.get("/admin/", headers=host(town)).get_data(as_text=True)
    assert 'href="/admin/api-clients"' in home
    response = post_form(client, town, "/admin/api-clients/new", {
        "name": "Tax office", "kind": "service", "redirect_uris": "",
        "scopes": ["staff:read", "staff:work"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    [registered] = clients_of(app, town)
    shown = response.get_data(as_text=True)
    secret = shown.split('id="secret" type="text" readonly value="')[1].split('"')[0]
    assert registered.secret_hash == digest(secret) and registered.client_id in shown
    assert registered.scope == "staff:read staff:work" and registered.created_by
    listing = client.get("/admin/api-clients", headers=host(town)).get_data(as_text=True)
    assert "Tax office" in listing and registered.client_id in listing and secret not in listing
    [entry] = audit_entries(app, town, "oauth.client_registered")
    assert entry.after["name"] == "Tax office" and secret not in str(entry.after)

    api = app.test_client()
    token = api.post("/api/v1/oauth/token", headers=host(town), auth=(
        registered.client_id, secret), data={"grant_type": "client_credentials",
                                             "scope": "staff:read"})
    assert token.status_code == 200, token.get_data(as_text=True)
    response = post_form(client, town, f"/admin/api-clients/{registered.id}/revoke", {},
                         page="/admin/api-clients")
    assert response.status_code == 302
    [revoked] = clients_of(app, town)
    assert revoked.revoked_at is not None
    assert audit_entries(app, town, "oauth.client_revoked")[0].after["revoked"] is True
    # Its token is refused from now on, and it gets no new one.
    answer = api.get("/api/v1/me", headers={**host(town), "Authorization":
                                             f"Bearer {token.get_json()['access_token']}"})
    assert answer.status_code == 401
    again = api.post("/api/v1/oauth/token", headers=host(town), auth=(
        registered.client_id, secret), data={"grant_type": "client_credentials"})
    assert again.status_code == 401


def test_a_public_app_has_no_secret(app, client, make_city):
    town = make_city("apps", locale="en")
    signed_in_staff(app, client, town)
    response = post_form(client, town, "/admin/api-clients/new", {
        "name": "City app", "kind": "public",
        "redirect_uris": "com.example.city:/callback\r\nhttp://127.0.0.1:8080/cb",
        "scopes": ["profile:read"]})
    assert response.status_code == 201
    assert 'id="secret"' not in response.get_data(as_text=True)
    [registered] = clients_of(app, town)
    assert registered.secret_hash is None
    assert registered.redirect_uris == ["com.example.city:/callback", "http://127.0.0.1:8080/cb"]


def test_a_bad_redirect_address_is_a_form_error_and_creates_nothing(app, client, make_city):
    town = make_city("apps", locale="en")
    signed_in_staff(app, client, town)
    response = post_form(client, town, "/admin/api-clients/new", {
        "name": "City app", "kind": "public",
        "redirect_uris": "http://evil.example/callback", "scopes": ["profile:read"]})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "http is allowed only for this computer" in body and 'href="#redirect_uris"' in body
    response = post_form(client, town, "/admin/api-clients/new", {
        "name": "Back office", "kind": "service", "redirect_uris": "",
        "scopes": ["profile:read"]}, page="/admin/api-clients/new")
    assert response.status_code == 422
    assert "give it staff scopes only" in response.get_data(as_text=True)
    assert clients_of(app, town) == []
    assert audit_entries(app, town, "oauth.client_registered") == []


def test_the_pages_speak_chinese(app, client, make_city):
    town = make_city("apps")
    signed_in_staff(app, client, town)
    page = client.get("/admin/api-clients/new", headers={**host(town),
                                                         "Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "注册应用" in page.get_data(as_text=True)


def test_staff_without_the_admin_permission_get_403(app, client, make_city):
    town = make_city("apps", locale="en")
    signed_in_staff(app, client, town, role="module_manager", modules=["passports"])
    assert client.get("/admin/api-clients", headers=host(town)).status_code == 403
    assert client.get("/admin/api-clients/new", headers=host(town)).status_code == 403
    assert 'href="/admin/api-clients"' not in client.get(
        "/admin/", headers=host(town)).get_data(as_text=True)
