"""The outbound-URL guard (app/outbound.py), against real local servers: schemes and addresses
by environment, every redirect and every DNS answer checked, timeouts honoured; and the same
rule in the console's forms and the CLI (OIDC issuer, Alipay gateway)."""
import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from flask_babel import force_locale

from app import crypto, outbound
from config.settings import ConfigurationError, from_environment
from tests.support.accounts import signed_in_staff
from tests.support.cities import post_form

PRODUCTION = outbound.Policy(http="never", public_only=True)
# Production's address rule, but plain http (the local servers speak no TLS) and 127.0.0.2
# standing for an allowed public host.
PRODUCTION_OVER_HTTP = outbound.Policy(
    http="always", public_only=True,
    allowed_networks=(ipaddress.ip_network("127.0.0.2/32"),), timeout=(2, 2))


class Server:
    """A threading http.server on `address`: answers 200 "ok", or redirects to `redirect`;
    `hits` counts the requests it got."""

    def __init__(self, address="127.0.0.1", redirect=None):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                target = server.redirect
                self.send_response(302 if target else 200)
                if target:
                    self.send_header("Location", target)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.hits, self.redirect = 0, redirect
        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def servers():
    made = []

    def make(**options):
        made.append(Server(**options))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_url_problem_by_environment(app):
    development = outbound.Policy.of({"CIVIC_ENV": "development"})
    tested = outbound.Policy.of({"CIVIC_ENV": "test"})
    allowed = outbound.Policy.of({"CIVIC_ENV": "production",
                                  "OUTBOUND_ALLOWED_NETWORKS": "10.20.0.0/16"})
    with app.test_request_context(), force_locale("en"):
        for bad in ("ftp://example.org/", "not a url", "https://user:pw@example.org/",
                    "https:///path", "https://exa mple.org/", "https://example.org:99999/"):
            assert "Enter a full URL" in outbound.url_problem(bad, PRODUCTION), bad
        assert outbound.url_problem("https://1.1.1.1/", PRODUCTION) is None
        assert "private" in outbound.url_problem("https://203.0.113.9/", PRODUCTION)  # TEST-NET
        assert outbound.url_problem("http://93.184.215.14/", PRODUCTION).startswith(
            "Enter an https:// URL")
        for private in ("https://127.0.0.1/", "https://10.1.2.3/", "https://169.254.169.254/",
                        "https://[::1]/", "https://[::ffff:10.0.0.1]/", "https://224.0.0.1/",
                        "https://0.0.0.0/", "https://localhost:8443/"):  # the name resolves
            assert "private, loopback" in outbound.url_problem(private, PRODUCTION), private
        assert outbound.url_problem("https://10.20.3.4/", allowed) is None
        assert outbound.url_problem("https://10.21.3.4/", allowed)
        assert outbound.url_problem("http://10.1.2.3/", development) is None
        assert outbound.url_problem("http://127.0.0.1:8080/", tested) is None
        assert outbound.url_problem("http://localhost:8080/", tested) is None
        assert outbound.url_problem("http://1.1.1.1/", tested).startswith("Enter an https")


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(servers):
    inside = servers()
    door = servers(address="127.0.0.2", redirect=inside.url)
    with outbound.session(PRODUCTION_OVER_HTTP) as session:
        with pytest.raises(outbound.OutboundRefused, match="127.0.0.1"):
            session.get(door.url)
        assert door.hits == 1 and inside.hits == 0
        door.redirect = None
        assert session.get(door.url).text == "ok"  # the allowed host itself is reachable


def test_a_name_that_resolves_to_a_private_address_is_refused(servers):
    inside = servers()
    with outbound.session(PRODUCTION_OVER_HTTP) as session:
        with pytest.raises(outbound.OutboundRefused, match="localhost resolves to"):
            session.get(f"http://localhost:{inside.httpd.server_port}/")
    assert inside.hits == 0


def test_a_redirect_to_plain_http_is_refused_where_only_https_is_allowed(servers):
    inside = servers()
    door = servers(redirect="http://203.0.113.9/")
    tested = outbound.Policy(http="loopback", public_only=False, timeout=(2, 2))
    with outbound.session(tested) as session:
        with pytest.raises(outbound.OutboundRefused, match="use https"):
            session.get(door.url)
        assert session.get(inside.url).text == "ok"


def test_redirects_are_capped(servers):
    loop = servers()
    loop.redirect = loop.url
    with outbound.session(outbound.Policy(http="always", public_only=False)) as session:
        with pytest.raises(requests.TooManyRedirects):
            session.get(loop.url)
    assert loop.hits == outbound.MAX_REDIRECTS + 1


def test_a_server_that_never_answers_times_out():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections (the kernel does), never reads or answers
    try:
        rules = outbound.Policy(http="always", public_only=False, timeout=(2, 0.5))
        with outbound.session(rules) as session:
            with pytest.raises(requests.ReadTimeout):
                session.get(f"http://127.0.0.1:{silent.getsockname()[1]}/")
    finally:
        silent.close()


def test_the_allowed_networks_setting_is_checked_at_start_up():
    environment = {"OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8, fd00::/8"}
    assert from_environment(environment)["OUTBOUND_ALLOWED_NETWORKS"] == "10.0.0.0/8, fd00::/8"
    with pytest.raises(ConfigurationError, match="'10.0.0.300/8' is not a network"):
        from_environment({"OUTBOUND_ALLOWED_NETWORKS": "10.0.0.300/8"})


# -- the same rule in the console and the CLI ------------------------------------------------

PROVIDER = {"name": "Gov ID", "key": "gov-id", "client_id": "civic-client",
            "client_secret": "secret", "scopes": "openid"}


@pytest.fixture()
def town(make_city):
    return make_city("outbound", locale="en")


@pytest.fixture()
def in_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "CIVIC_ENV", "production")


def test_the_console_forms_refuse_what_the_guard_refuses(app, client, town, monkeypatch):
    signed_in_staff(app, client, town)
    response = post_form(client, town, "/admin/providers/new",
                         {**PROVIDER, "issuer": "http://id.example.org"})
    assert response.status_code == 422
    assert "Enter an https:// URL: plain http://" in response.get_data(as_text=True)
    response = post_form(client, town, "/admin/payments/merchant",
                         {"provider": "sandbox", "expiry_minutes": "30",
                          "alipay_gateway_url": "http://gateway.example.org/gateway.do"})
    assert response.status_code == 422
    assert "Enter an https:// URL: plain http://" in response.get_data(as_text=True)

    monkeypatch.setitem(app.config, "CIVIC_ENV", "production")
    for issuer in ("http://127.0.0.1:9000", "https://10.0.0.8", "https://localhost"):
        response = post_form(client, town, "/admin/providers/new",
                             {**PROVIDER, "issuer": issuer})
        assert response.status_code == 422, issuer
    assert "inside a private, loopback" in response.get_data(as_text=True)
    response = post_form(client, town, "/admin/payments/merchant",
                         {"provider": "sandbox", "expiry_minutes": "30",
                          "alipay_gateway_url": "https://169.254.169.254/latest"})
    assert response.status_code == 422
    assert "inside a private, loopback" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/24")
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", crypto.development_key("x").decode())
    response = post_form(client, town, "/admin/providers/new",
                         {**PROVIDER, "issuer": "https://10.0.0.8"})
    assert response.status_code == 302


def test_the_cli_applies_the_same_rule(app, cli, town, in_production):
    base = ["--name", "X", "--client-id", "x", "--client-secret", "y"]
    result = cli.invoke(args=["tenants", "oidc", "add", town.slug, *base,
                              "--issuer", "http://id.example.org"])
    assert result.exit_code != 0 and "Enter an https:// URL" in result.output
    result = cli.invoke(args=["tenants", "oidc", "add", town.slug, *base,
                              "--issuer", "https://192.168.1.1"])
    assert result.exit_code != 0 and "inside a private" in result.output
    result = cli.invoke(args=["tenants", "payments", town.slug,
                              "--gateway", "https://127.0.0.1/gateway.do"])
    assert result.exit_code != 0 and "inside a private" in result.output, result.output
    result = cli.invoke(args=["tenants", "payments", town.slug,
                              "--gateway", "http://openapi.alipay.com/gateway.do"])
    assert result.exit_code != 0 and "Enter an https:// URL" in result.output

