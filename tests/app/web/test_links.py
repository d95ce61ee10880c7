"""Links that leave the site are built from the city's stored primary domain and the configured
scheme and port, never from the request's Host; a Host with a port that is not a number is
refused; a dot at the end of a host changes nothing; behind a proxy, production speaks https."""
import base64
import re
import secrets

import pytest

from tests.conftest import form_token
from tests.support.accounts import add_citizen
from tests.support.apps import another_app, app_config
from tests.support.cities import host, post_form


def _reset_link(outbox, tenant) -> str:
    return re.search(r"https?://\S+", outbox(tenant.slug)[-1].get_content()).group(0)


def _ask_reset(client, tenant, email, headers):
    token = form_token(client.get("/account/password/forgot", headers=headers))
    return client.post("/account/password/forgot", headers=headers,
                       data={"csrf_token": token, "identifier": email})


@pytest.mark.parametrize("bad_host", [
    "{domain}:evil.example", "{domain}:80@evil.example", "{domain}:0", "{domain}:99999",
    "{domain}:", "{domain} evil.example", "evil.example/{domain}"])
def test_a_host_whose_port_is_not_a_number_is_refused_with_400(client, make_city, bad_host):
    town = make_city("host")
    for path in ("/", "/account/login", "/admin/login", "/healthz"):
        response = client.get(path, headers={"Host": bad_host.format(domain=town.domains[0])})
        assert response.status_code == 400, path
    page = client.get("/", headers={"Host": f"{town.domains[0]}:evil.example",
                                    "Accept-Language": "en"})
    assert "port number" in page.get_data(as_text=True)


def test_a_reset_asked_through_a_strange_host_still_links_to_the_primary_domain(
        app, client, make_city, outbox):
    town = make_city("links", domains=["primary-links.test", "second-links.test"])
    add_citizen(app, town, "victim@example.com")
    refused = _ask_reset(client, town, "victim@example.com", {"Host": "primary-links.test"})
    assert refused.status_code == 200
    attacked = client.post("/account/password/forgot",
                           headers={"Host": "second-links.test:evil.example"},
                           data={"identifier": "victim@example.com"})
    assert attacked.status_code == 400
    # Asked on the second domain, with a port and a dot at the end: the primary domain, no port.
    _ask_reset(client, town, "victim@example.com", {"Host": "Second-Links.TEST.:8080"})
    assert _reset_link(outbox, town).startswith("http://primary-links.test/account/password/")
    assert all("evil" not in m.get_content() for m in outbox(town.slug))


def test_a_trailing_dot_is_the_same_host_for_the_site_and_its_session(app, client, make_city):
    town = make_city("dot")
    add_citizen(app, town, "dot@example.com")
    dotted = {"Host": f"{town.domains[0]}.:5000"}
    token = form_token(client.get("/account/login", headers=dotted))
    signed_in = client.post("/account/login", headers=dotted, data={
        "csrf_token": token, "identifier": "dot@example.com", "password": "correct horse battery"})
    assert signed_in.status_code == 302
    # the cookie made on "town.test." signs the browser in on "town.test" (the same city)
    cookie = client.get_cookie("session", domain=f"{town.domains[0]}.")
    client.set_cookie("session", cookie.value, domain=town.domains[0])
    assert client.get("/account/", headers=host(town)).status_code == 200


def test_links_printed_by_the_cli_use_the_public_scheme_and_port(app, cli, cities, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SCHEME", "https")
    monkeypatch.setitem(app.config, "PUBLIC_PORT", "8443")
    result = cli.invoke(args=["platform", "create-staff", "links-cli@example.com"])
    assert result.exit_code == 0, result.output
    assert re.search(r"https://platform\.test:8443/console/set-password/\S+", result.output)
    result = cli.invoke(args=["tenants", "invite-admin", "alpha", "links-cli@example.com"])
    assert result.exit_code == 0, result.output
    assert re.search(r"https://alpha\.test:8443/admin/invitation/\S+", result.output)


@pytest.fixture()
def production(monkeypatch, database_url, outbox_dir):
    """The environment of a production deployment (Redis is named but not reached here)."""
    for name, value in {
            "CIVIC_ENV": "production", "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATA_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "EXPORT_SIGNING_KEY": secrets.token_urlsafe(48),
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
            "RATELIMIT_KEY_PREFIX": f"civic-test-{secrets.token_hex(6)}",
            "PLATFORM_HOST": "platform.test", "MAIL_OUTBOX_DIR": str(outbox_dir)}.items():
        monkeypatch.setenv(name, value)
    for name in ("PUBLIC_SCHEME", "PUBLIC_PORT", "PROXY_TRUSTED_HOPS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_makes_https_links_only_sends_hsts_and_secure_cookies(
        production, app, make_city, outbox):
    town = make_city("prod")
    add_citizen(app, town, "prod@example.com")
    with another_app() as production_app:
        assert production_app.config["PUBLIC_SCHEME"] == "https"
        client = production_app.test_client()
        page = client.get("/account/password/forgot", headers={"Host": f"{town.domains[0]}:80"})
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
        _ask_reset(client, town, "prod@example.com", {"Host": f"{town.domains[0]}:80"})
        link = _reset_link(outbox, town)
        assert link.startswith(f"https://{town.domains[0]}/account/password/reset/")
        body = "\n".join(m.get_content() for m in outbox(town.slug))
        assert "http://" not in body


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PUBLIC_SCHEME", "http", "PUBLIC_SCHEME must be https"),
    ("RATELIMIT_STORAGE_URI", "memory://", "RATELIMIT_STORAGE_URI must name a Redis server"),
    ("PUBLIC_PORT", "eighty", "PUBLIC_PORT must be a port number"),
])
def test_production_refuses_settings_that_would_leak(production, name, value, message):
    from config.settings import ConfigurationError

    production.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        with another_app():
            pass


def test_without_trusted_proxies_a_forged_forwarded_for_opens_no_new_budget(client, make_city):
    town = make_city("xff")
    for attempt in range(20):
        response = post_form(client, town, "/account/password/forgot",
                             {"identifier": f"nobody{attempt}@example.com"})
        assert response.status_code == 200
    forged = {**host(town), "X-Forwarded-For": "203.0.113.9"}
    token = form_token(client.get("/account/password/forgot", headers=forged))
    response = client.post("/account/password/forgot", headers=forged,
                           data={"csrf_token": token, "identifier": "other@example.com"})
    assert response.status_code == 429


def test_with_a_trusted_proxy_its_forwarded_address_and_scheme_are_used(
        database_url, outbox_dir, make_city):
    town = make_city("proxy")
    config = app_config(database_url, outbox_dir, PROXY_TRUSTED_HOPS=1)
    with another_app(config) as proxied:
        client = proxied.test_client()
        for attempt in range(20):
            headers = {**host(town), "X-Forwarded-For": "203.0.113.10"}
            token = form_token(client.get("/account/password/forgot", headers=headers))
            client.post("/account/password/forgot", headers=headers,
                        data={"csrf_token": token, "identifier": f"n{attempt}@example.com"})
        other = {**host(town), "X-Forwarded-For": "203.0.113.11",
                 "X-Forwarded-Proto": "https",  # then the request is secure: CSRF wants a Referer
                 "Referer": f"https://{town.domains[0]}/account/password/forgot"}
        token = form_token(client.get("/account/password/forgot", headers=other))
        response = client.post("/account/password/forgot", headers=other,
                               data={"csrf_token": token, "identifier": "n@example.com"})
        assert response.status_code == 200  # another client behind the proxy
        assert client.get_cookie("session", domain=town.domains[0]) is not None
