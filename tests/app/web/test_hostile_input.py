"""Hostile and careless input gets a clear 4xx page in the city's language (or a 503 while the
database can't be reached), never a server error, and writes nothing."""
import io
import socket
import threading
from contextlib import closing

import sqlalchemy as sa
from flask_wtf import FlaskForm
from sqlalchemy.engine import make_url
from werkzeug.datastructures import MultiDict
from wtforms.validators import NumberRange, Optional

from app.accounts.models import User
from app.web.forms import DateField, DecimalField
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.apps import another_app, app_config
from tests.support.cities import (
    CONSENT,
    PASSWORD,
    configure_city,
    host,
    post_form,
    with_every_module,
)

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


def test_dates_beyond_the_supported_range_are_a_form_error_in_the_citys_language(
        app, client, make_city):
    """9999-12-31 is a date to Python and PostgreSQL, but the day after it (a filter's end)
    overflowed into a server error."""
    town = make_city("dates")
    configure_city(app, town, enable=["traffic_fines"])
    signed_in_staff(app, client, town, email="dates@example.com")
    for path in ("/admin/traffic-fines/", "/admin/payments/"):
        for day in ("9999-12-31", "0001-01-01", "2200-01-01"):
            response = client.get(f"{path}?date_to={day}", headers=host(town))
            assert response.status_code in (200, 422), (path, day)  # the filter, refused
            assert "请输入1900-01-01至2199-12-31之间的日期" in response.get_data(as_text=True)
        assert client.get(f"{path}?date_to=2199-12-31", headers=host(town)).status_code == 200


def test_the_shared_fields_refuse_unsupported_dates_and_numbers_that_are_none(app):
    class Probe(FlaskForm):
        class Meta:
            csrf = False

        day = DateField(validators=[Optional()])
        latitude = DecimalField(places=None, validators=[Optional(), NumberRange(-90, 90)])

    with app.test_request_context():
        for day in ("1899-12-31", "2200-01-01", "9999-12-31"):
            form = Probe(MultiDict({"day": day}))
            assert not form.validate() and form.day.errors and form.day.data is None
        assert Probe(MultiDict({"day": "1900-01-01"})).validate()
        for number in ("NaN", "sNaN", "-Infinity", "1E-999999", "1e999999"):
            form = Probe(MultiDict({"latitude": number}))
            assert not form.validate(), number
            assert "28.4517" in str(form.latitude.errors[0]), number
        assert Probe(MultiDict({"latitude": "-28.4517"})).validate()


def test_json_sent_to_a_page_is_refused_and_changes_nothing(app, client, cities):
    """Flask-WTF read a JSON body as the form's data, so a number or a list where a field
    reads text was a server error."""
    alpha = cities["alpha"]
    token = form_token(client.get("/account/register", headers=host(alpha)))
    response = client.post("/account/register", headers={**host(alpha), "X-CSRFToken": token},
                           json={"email": "json@example.com", "display_name": 12.5,
                                 "password": True, "confirm": ["x"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 415
    assert "JSON" in page and "阿尔法市" in page and 'lang="zh-Hans"' in page
    assert users_named(app, alpha, "json@example.com") == 0
    response = client.post("/account/login", headers={**host(alpha), "X-CSRFToken": token},
                           data="[1, 2]", content_type="application/json")
    assert response.status_code == 415


def test_a_doctor_beyond_a_bigint_or_not_a_number_is_no_page(app, client, make_city):
    """`?doctor=` was read with str.isdigit and int: 40 digits went to the query (a server
    error), and so did "²" (a digit to isdigit, no number to int)."""
    town = make_city("doctors")
    with_every_module(app, town)
    path = "/services/appointments/departments/1/times"
    assert client.get(path, headers=host(town)).status_code == 200
    for doctor in ("9" * 40, str(2**63), "²", "-1"):
        assert client.get(f"{path}?doctor={doctor}", headers=host(town)).status_code == 404
