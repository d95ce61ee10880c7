"""Every page under /admin is the console's: whatever blueprint serves it (the console's own,
a module's staff pages, the payments pages), a visitor who is not signed in is sent to the
console's sign-in page, a staff member who has not passed the second factor in this session
is sent to the code page, and the answer is never cached."""
import re

import pytest

from app.admin.blueprint import BEFORE_SIGN_IN
from tests.conftest import form_token
from tests.support.accounts import add_staff, sign_in_to_admin
from tests.support.cities import host

VARIABLE = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?\w+>")


def _sample(match: re.Match) -> str:
    converter, arguments = match.group(1), match.group(2)
    if converter == "int":
        return "1"
    if converter == "any":  # its first choice
        return arguments.split(",")[0].strip().strip("'\"")
    return "x"


def admin_requests(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every /admin rule of the cities' sites, its variables
    filled with sample values (the gate answers before any view reads them)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in BEFORE_SIGN_IN:
            continue
        path = VARIABLE.sub(_sample, rule.rule)
        found += [(rule.endpoint, method, path)
                  for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_the_walk_covers_the_console_the_modules_and_payments(app):
    endpoints = {endpoint for endpoint, _, _ in admin_requests(app)}
    assert {"admin.home", "admin.staff_list", "admin.audit_log", "admin.payments.index",
            "admin.appointments.index", "admin.passports.index", "admin.announcements.index",
            "admin.traffic_fines.index", "admin.utility_bills.index"} <= endpoints
    assert all(endpoint.startswith("admin.") for endpoint in endpoints)
    assert len(endpoints) > 40


def _send(client, city, method, path, token):
    data = {"csrf_token": token} if method != "GET" else None
    return client.open(path, method=method, headers=host(city), data=data)


@pytest.mark.parametrize("who", ["anonymous", "without the second factor"])
def test_every_admin_page_answers_as_the_console_does(app, client, make_city, who):
    city = make_city("gate", locale="en")
    if who == "anonymous":
        expected = "/admin/login"
    else:
        member = add_staff(app, city, "clerk@example.com", role="admin")
        assert sign_in_to_admin(client, city, member["email"]).status_code == 302
        expected = "/admin/2fa"
    token = form_token(client.get(expected, headers=host(city)))
    for endpoint, method, path in admin_requests(app):
        response = _send(client, city, method, path, token)
        assert response.status_code == 302, (endpoint, method, path, response.status_code)
        assert response.location.split("?")[0] == expected, (endpoint, method, path)
        assert response.headers["Cache-Control"] == "no-store", (endpoint, method, path)
