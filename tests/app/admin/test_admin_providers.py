"""The console's sign-in providers: /admin/providers lists the city's OpenID Connect providers,
/admin/providers/new and /admin/providers/<id> add and change them (the client secret is
write-only), and city administrators alone may do so."""
import re

import pytest
import sqlalchemy as sa

from app import crypto
from app.oidc.models import OidcProvider
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, host, post_form

SECRET = "s3cret-value-that-must-not-leak"
NEW = "/admin/providers/new"
FIELDS = {"name": "Gov ID", "key": "gov-id", "issuer": "https://id.example.org",
          "client_id": "civic-client", "client_secret": SECRET, "scopes": "openid email"}


@pytest.fixture()
def town(make_city):
    return make_city("admoidc", locale="en")


def stored(app, town, key="gov-id") -> OidcProvider | None:
    with tenant_context(town, app):
        provider = db.session.scalar(sa.select(OidcProvider).where(OidcProvider.key == key))
        db.session.expunge_all()
        return provider


def secret_of(app, town, provider) -> str:
    with tenant_context(town, app):
        return crypto.decrypt(provider.client_secret_encrypted)


def error_of(body: str, field: str) -> str | None:
    found = re.search(rf'<p class="error-message" id="{field}-error">([^<]*)</p>', body)
    return found and found.group(1)


def add(client, town, **changes):
    return post_form(client, town, NEW, {**FIELDS, **changes})


def test_an_admin_adds_a_provider_whose_secret_is_stored_encrypted(app, client, town):
    member = signed_in_staff(app, client, town)
    home = client.get("/admin/", headers=host(town)).get_data(as_text=True)
    assert 'href="/admin/providers"' in home and "Sign-in providers" in home
    assert "No sign-in providers yet" in client.get(
        "/admin/providers", headers=host(town)).get_data(as_text=True)

    response = add(client, town)
    provider = stored(app, town)
    assert response.status_code == 302
    assert response.location == f"/admin/providers/{provider.id}"
    assert (provider.display_name, provider.issuer, provider.client_id, provider.scopes,
            provider.enabled) == ("Gov ID", "https://id.example.org", "civic-client",
                                  "openid email", True)
    assert SECRET not in provider.client_secret_encrypted
    assert secret_of(app, town, provider) == SECRET

    page = client.get(response.location, headers=host(town)).get_data(as_text=True)
    assert "is added" in page and SECRET not in page
    assert provider.client_secret_encrypted not in page
    assert re.search(r'<input[^>]*id="client_secret"[^>]*>', page)
    assert not re.search(r'<input[^>]*id="client_secret"[^>]*value="[^"]', page)
    assert "/account/login/oidc/gov-id/callback" in page

    listing = client.get("/admin/providers", headers=host(town)).get_data(as_text=True)
    assert "Gov ID" in listing and "gov-id" in listing and "https://id.example.org" in listing
    assert "Enabled" in listing and SECRET not in listing

    (entry,) = audit_entries(app, town, "oidc_provider.add")
    assert entry.actor == f"user:{member['user_id']}:boss@example.com"
    assert entry.target == "oidc_provider:gov-id"
    assert entry.after == {"key": "gov-id", "name": "Gov ID", "name_zh": "",
                           "issuer": "https://id.example.org", "client_id": "civic-client",
                           "scopes": "openid email", "enabled": True}

    again = add(client, town, name="Other")
    assert again.status_code == 422
    assert "already has a sign-in provider with the key gov-id" in error_of(
        again.get_data(as_text=True), "key")


def test_the_key_is_made_from_the_name_when_left_empty(app, client, town):
    signed_in_staff(app, client, town)
    assert add(client, town, key="", name="Province ID").status_code == 302
    assert stored(app, town, "province-id").display_name == "Province ID"


def test_editing_keeps_the_secret_when_left_empty(app, client, town):
    signed_in_staff(app, client, town)
    add(client, town)
    provider = stored(app, town)
    page = f"/admin/providers/{provider.id}"
    response = post_form(client, town, page, {"name": "Government ID",
                                              "issuer": "https://login.example.org/",
                                              "client_id": "civic-2", "client_secret": "",
                                              "scopes": "openid  profile"})
    assert response.status_code == 302 and response.location == page
    changed = stored(app, town)
    assert (changed.display_name, changed.issuer, changed.client_id, changed.scopes) == (
        "Government ID", "https://login.example.org/", "civic-2", "openid profile")
    assert changed.client_secret_encrypted == provider.client_secret_encrypted
    assert secret_of(app, town, changed) == SECRET

    (entry,) = audit_entries(app, town, "oidc_provider.edit")
    assert entry.before["name"] == "Gov ID" and entry.after["name"] == "Government ID"
    assert entry.after["secret_changed"] is False

    # a new secret replaces the old one; the audit says so, without either value
    assert post_form(client, town, page, {"name": "Government ID",
                                          "issuer": "https://login.example.org/",
                                          "client_id": "civic-2", "client_secret": "new-one",
                                          "scopes": "openid profile"}).status_code == 302
    assert secret_of(app, town, stored(app, town)) == "new-one"
    entries = audit_entries(app, town, "oidc_provider.edit")
    assert len(entries) == 2 and entries[1].after["secret_changed"] is True

    # the same values again: nothing changes, no audit row
    assert post_form(client, town, page, {"name": "Government ID",
                                          "issuer": "https://login.example.org/",
                                          "client_id": "civic-2", "client_secret": "",
                                          "scopes": "openid profile"}).status_code == 302
    assert len(audit_entries(app, town, "oidc_provider.edit")) == 2
    assert 'id="key"' not in client.get(page, headers=host(town)).get_data(as_text=True)


def test_an_invalid_issuer_is_refused_with_its_message_and_values_kept(app, client, town):
    signed_in_staff(app, client, town)
    response = add(client, town, issuer="ftp://id.example.org?x=1", scopes="email")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(body, "issuer").startswith("Enter an https:// URL")
    assert error_of(body, "scopes")
    assert 'href="#issuer"' in body
    assert 'value="Gov ID"' in body and 'value="civic-client"' in body
    assert SECRET not in body
    assert stored(app, town) is None and audit_entries(app, town, "oidc_provider.add") == []

    add(client, town)
    provider = stored(app, town)
    page = f"/admin/providers/{provider.id}"
    response = post_form(client, town, page, {"name": "Gov ID", "issuer": "not a url",
                                              "client_id": "civic-client",
                                              "client_secret": "changed",
                                              "scopes": "openid"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and error_of(body, "issuer")
    assert 'value="not a url"' in body and "changed" not in body.split("<main")[-1]
    assert stored(app, town).issuer == "https://id.example.org"
    assert secret_of(app, town, stored(app, town)) == SECRET


def test_a_disabled_provider_is_no_longer_offered_to_citizens(app, client, town):
    signed_in_staff(app, client, town)
    add(client, town)
    provider = stored(app, town)
    citizen = app.test_client()
    login = citizen.get("/account/login", headers=host(town)).get_data(as_text=True)
    assert "Sign in with Gov ID" in login

    token = form_token(client.get("/admin/providers", headers=host(town)))
    response = client.post(f"/admin/providers/{provider.id}/disable",
                           data={"csrf_token": token}, headers=host(town))
    assert response.status_code == 302 and not stored(app, town).enabled
    login = citizen.get("/account/login", headers=host(town)).get_data(as_text=True)
    assert "Sign in with Gov ID" not in login
    assert citizen.get("/account/login/oidc/gov-id", headers=host(town)).status_code == 404
    assert "Disabled" in client.get("/admin/providers", headers=host(town)).get_data(
        as_text=True)

    # without the form's token: refused, nothing changes
    assert client.post(f"/admin/providers/{provider.id}/enable",
                       headers=host(town)).status_code == 400
    assert not stored(app, town).enabled

    response = client.post(f"/admin/providers/{provider.id}/enable",
                           data={"csrf_token": token}, headers=host(town))
    assert response.status_code == 302 and stored(app, town).enabled
    assert "Sign in with Gov ID" in citizen.get("/account/login", headers=host(town)).get_data(
        as_text=True)
    (disabled,) = audit_entries(app, town, "oidc_provider.disable")
    (enabled,) = audit_entries(app, town, "oidc_provider.enable")
    assert disabled.before["enabled"] and not disabled.after["enabled"]
    assert enabled.after["enabled"] and enabled.target == "oidc_provider:gov-id"
    assert client.post("/admin/providers/999999/disable", data={"csrf_token": token},
                       headers=host(town)).status_code == 404


def test_staff_other_than_administrators_get_403(app, client, town):
    signed_in_staff(app, client, town)
    add(client, town)
    provider = stored(app, town)
    for role in ("module_manager", "clerk", "viewer"):
        other = app.test_client()
        signed_in_staff(app, other, town, f"{role}@example.com", role=role,
                        modules=("announcements",) if role != "viewer" else ())
        home = other.get("/admin/", headers=host(town)).get_data(as_text=True)
        assert 'href="/admin/providers"' not in home
        token = form_token(other.get("/admin/", headers=host(town)))
        for path in ("/admin/providers", NEW, f"/admin/providers/{provider.id}"):
            assert other.get(path, headers=host(town)).status_code == 403, (role, path)
        for path in (NEW, f"/admin/providers/{provider.id}",
                     f"/admin/providers/{provider.id}/disable"):
            response = other.post(path, data={**FIELDS, "csrf_token": token, "key": "x"},
                                  headers=host(town))
            assert response.status_code == 403, (role, path)
    assert stored(app, town).enabled and stored(app, town, "x") is None
    assert len(audit_entries(app, town, "oidc_provider.add")) == 1


def test_no_audit_entry_holds_the_secret(app, client, town):
    signed_in_staff(app, client, town)
    add(client, town)
    provider = stored(app, town)
    post_form(client, town, f"/admin/providers/{provider.id}",
              {**FIELDS, "client_secret": "another-secret"})
    token = form_token(client.get("/admin/providers", headers=host(town)))
    client.post(f"/admin/providers/{provider.id}/disable", data={"csrf_token": token},
                headers=host(town))
    entries = [entry for entry in audit_entries(app, town)
               if entry.action.startswith("oidc_provider.")]
    assert [entry.action for entry in entries] == [
        "oidc_provider.add", "oidc_provider.edit", "oidc_provider.disable"]
    for entry in entries:
        text = repr((entry.before, entry.after))
        assert SECRET not in text and "another-secret" not in text
        assert "client_secret" not in text
    log = client.get("/admin/audit", headers=host(town)).get_data(as_text=True)
    assert SECRET not in log and "another-secret" not in log


def test_a_provider_is_named_in_both_languages_and_one_is_enough(app, client, town):
    signed_in_staff(app, client, town)
    nameless = add(client, town, name="", name_zh="")
    assert nameless.status_code == 422 and stored(app, town) is None
    assert "at least one language" in error_of(nameless.get_data(as_text=True), "name_zh")
    too_long = add(client, town, name_zh="长" * 101)
    assert too_long.status_code == 422 and stored(app, town) is None
    assert add(client, town, name="", name_zh="浙里办").status_code == 302
    provider = stored(app, town)
    assert (provider.display_name, provider.display_name_zh) == ("", "浙里办")
    assert "浙里办" in client.get("/admin/providers", headers=host(town)).get_data(as_text=True)
    visitor = app.test_client()
    sign_in = visitor.get("/account/login", headers=host(town)).get_data(as_text=True)
    assert "Sign in with 浙里办" in sign_in  # an English page: the Chinese name, the only one

    edited = post_form(client, town, f"/admin/providers/{provider.id}", {
        **FIELDS, "name": "Zheliban", "name_zh": "浙里办", "client_secret": ""},
        page=f"/admin/providers/{provider.id}")
    assert edited.status_code == 302
    assert "Sign in with Zheliban" in visitor.get("/account/login", headers=host(town)).get_data(
        as_text=True)
    visitor.get("/lang/zh_Hans", headers=host(town))
    assert "浙里办" in visitor.get("/account/login", headers=host(town)).get_data(as_text=True)
    [entry] = audit_entries(app, town, "oidc_provider.edit")
    assert (entry.before["name"], entry.after["name"]) == ("", "Zheliban")

