"""One log line per request, with its id (the proxy's only behind a trusted proxy), route,
status, duration, city and kind of user."""
import json
import logging

import pytest

from tenants.log_context import CityFilter, json_formatter
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.apps import another_app, app_config


@pytest.fixture()
def request_lines(caplog):
    """The request log's lines so far, as the JSON objects production writes."""
    caplog.handler.addFilter(CityFilter())
    caplog.handler.setFormatter(json_formatter())
    caplog.set_level(logging.INFO, logger="civic.request")
    return lambda: [json.loads(line) for line in caplog.text.splitlines()
                    if '"name": "civic.request"' in line]


def test_a_page_is_logged_once_with_its_id_route_status_city_and_user(client, cities,
                                                                       request_lines):
    response = client.get("/announcements/999999", headers={"Host": "alpha.test"})
    client.get("/healthz", headers={"Host": "platform.test"})
    page, health = request_lines()
    assert page["request_id"] == response.headers["X-Request-ID"]
    assert len(page["request_id"]) == 32
    assert (page["method"], page["route"], page["status"]) == (
        "GET", "/announcements/<int:announcement_id>", response.status_code)
    assert (page["city"], page["user"], page["level"]) == ("alpha", "anonymous", "INFO")
    assert isinstance(page["duration_ms"], float) and page["duration_ms"] > 0
    assert (health["city"], health["route"], health["status"]) == ("-", "/healthz", 200)
    assert health["request_id"] != page["request_id"]


def test_an_unknown_path_and_a_bad_host_are_logged_too(client, cities, request_lines):
    client.get("/no/such/page", headers={"Host": "alpha.test"})
    client.get("/", headers={"Host": "alpha.test:notaport"})
    missing, refused = request_lines()
    assert (missing["route"], missing["status"], missing["city"]) == ("-", 404, "alpha")
    assert (refused["status"], refused["city"]) == (400, "-")


def test_the_kind_of_user_is_citizen_or_staff_once_signed_in(app, cities, request_lines):
    citizen, staff = app.test_client(), app.test_client()
    signed_in_citizen(app, citizen, cities["beta"], "logged@example.com")
    signed_in_staff(app, staff, cities["beta"], email="logged-boss@example.com")
    citizen.get("/account/", headers={"Host": "beta.test"})
    staff.get("/admin/", headers={"Host": "beta.test"})
    citizen_page, staff_page = request_lines()[-2:]
    assert (citizen_page["user"], staff_page["user"]) == ("citizen", "staff")


@pytest.mark.parametrize("hops", [0, 1])
def test_a_clients_request_id_is_taken_only_behind_a_trusted_proxy(
        database_url, outbox_dir, cities, hops):
    config = app_config(database_url, outbox_dir, PROXY_TRUSTED_HOPS=hops)
    with another_app(config) as app:
        client = app.test_client()
        chosen = client.get("/healthz", headers={"Host": "alpha.test",
                                                 "X-Request-ID": "lb-0001"})
        hostile = client.get("/healthz", headers={"Host": "alpha.test",
                                                  "X-Request-ID": "a b\x7f" + "x" * 200})
    assert (chosen.headers["X-Request-ID"] == "lb-0001") == bool(hops)
    assert len(hostile.headers["X-Request-ID"]) == 32  # never the hostile value
