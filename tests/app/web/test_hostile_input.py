"""Hostile and careless input gets a clear 4xx page in the city's language (or a 503 while the
database can't be reached), never a server error, and writes nothing."""
import io
import socket
import threading
from contextlib import closing

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.accounts.models import User
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.apps import another_app, app_config
from tests.support.cities import CONSENT, PASSWORD, host, post_form

HUGE = str(2**64)


def users_named(app, tenant, email) -> int:
    with tenant_context(tenant, app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(User)
                                 .where(User.email == email))


def test_a_nul_character_in_a_form_field_is_refused_in_the_citys_language(app, client, cities):
    alpha = cities["alpha"]
    response = post_form(client, alpha, "/account/register", {
        "email": "nul@example.com", "display_name": "Zhang\x00San",
        "password": "correct horse battery", "confirm": "correct horse battery", **CONSENT})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "NUL" in page and "阿尔法市" in page and 'lang="zh-Hans"' in page
    assert users_named(app, alpha, "nul@example.com") == 0


def test_a_nul_character_anywhere_else_is_refused_too(client, cities):
    beta = host(cities["beta"])
    assert client.get("/account/login?next=/\x00", headers=beta).status_code == 400
    assert client.get("/announcements/%00", headers=beta).status_code in (400, 404)
    token = form_token(client.get("/account/login", headers=beta))
    response = client.post("/account/login", json={"identifier": ["a\x00"]},
                           headers={**beta, "X-CSRFToken": token})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    response = client.post("/account/login", data={"identifier\x00": "x", "csrf_token": token},
                           headers=beta)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_ids_and_page_numbers_beyond_a_bigint_are_no_page(app, client, cities):
    beta = cities["beta"]
    assert client.get(f"/account/devices/{HUGE}/sign-out", headers=host(beta)).status_code in (
        404, 405)
    signed_in_staff(app, client, beta, email="pages@example.com")
    for path in (f"/admin/staff/{HUGE}", f"/admin/staff/{2**63 - 1}"):
        assert client.get(path, headers=host(beta)).status_code == 404
    for page in (HUGE, str(2**63 - 1), "-" + HUGE, "x"):
        response = client.get(f"/admin/audit?page={page}", headers=host(beta))
        assert response.status_code == 200, page


def test_a_20_mb_upload_gets_the_citys_413_page(app, client, cities):
    beta = cities["beta"]
    assert app.config["MAX_CONTENT_LENGTH"] < 20 * 1024 * 1024
    token = form_token(client.get("/account/login", headers=host(beta)))
    response = client.post("/account/login", headers=host(beta), data={
        "csrf_token": token, "photo": (io.BytesIO(b"x" * 20 * 1024 * 1024), "big.jpg")})
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Too large" in page and "Beta" in page


def _throwing_app(database_url, outbox_dir):
    """An app with a city page whose query fails and aborts the transaction."""
    config = app_config(database_url, outbox_dir, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return another_app(config)


def test_the_error_page_renders_when_the_transaction_is_aborted(
        app, database_url, outbox_dir, cities):
    alpha = cities["alpha"]
    with _throwing_app(database_url, outbox_dir) as failing:
        @failing.get("/fails-in-the-database")
        def fails_in_the_database():
            db.session.execute(sa.text("SELECT 1 / 0"))
            return "unreachable"

        client = failing.test_client()
        signed_in_citizen(failing, client, alpha, "aborted@example.com")
        response = client.get("/fails-in-the-database", headers=host(alpha))
        page = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "阿尔法市" in page and 'lang="zh-Hans"' in page
        # The next request on the same pool works: nothing stayed aborted.
        assert client.get("/account/", headers=host(alpha)).status_code == 200


class Relay:
    """A TCP relay to PostgreSQL that can be cut, as when the database goes down."""

    def __init__(self, database_url):
        url = make_url(database_url)
        socket_dir = url.query.get("host") or (url.host if (url.host or "").startswith("/")
                                                else None)
        if socket_dir:  # the embedded server listens on a Unix socket only
            path = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
            self.connect = lambda: _unix_connection(path)
        else:
            self.connect = lambda: socket.create_connection((url.host, url.port or 5432))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = url.set(host="127.0.0.1", port=self.listener.getsockname()[1], query={})
        self.sockets, self.cut_off = [], False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                return
            upstream = self.connect()
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        with closing(source):
            while data := _recv(source):
                try:
                    sink.sendall(data)
                except OSError:
                    return

    def cut(self):
        self.cut_off = True  # a thread blocked in accept() keeps the listener open
        for sock in [self.listener, *self.sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _unix_connection(path):
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(path)
    return connection


def _recv(sock) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def test_a_database_that_is_down_gets_a_503_with_retry_after(app, database_url, outbox_dir, cities):
    relay = Relay(database_url)
    config = app_config(relay.url.render_as_string(hide_password=False), outbox_dir,
                        TESTING=False, PROPAGATE_EXCEPTIONS=False)
    with another_app(config) as cut_off:
        client = cut_off.test_client()
        beta = host(cities["beta"])
        token = form_token(client.get("/account/register", headers=beta))
        relay.cut()
        response = client.post("/account/register", headers=beta, data={
            "csrf_token": token, "email": "down@example.com", "password": PASSWORD,
            "confirm": PASSWORD, **CONSENT})
        page = response.get_data(as_text=True)
        assert response.status_code == 503, page
        assert response.headers["Retry-After"].isdigit()
        assert "Beta" in page and "try again" in page
    assert users_named(app, cities["beta"], "down@example.com") == 0
