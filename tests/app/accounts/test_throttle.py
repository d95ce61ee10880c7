"""Throttling that names an account: budgets keyed on the normalised identifier, per (account,
client) so nobody can lock the owner out, a per-account ceiling, registration and reset
requests limited, and the counts shared by every process through Redis."""
import secrets
import socket

import pytest

from tests.conftest import form_token
from tests.support.accounts import add_citizen
from tests.support.apps import another_app, app_config
from tests.support.cities import CONSENT, PASSWORD, host


@pytest.fixture()
def town(make_city):
    return make_city("thr", locale="en")


def post_from(client, tenant, path, data, address="10.0.0.1"):
    """Post a form as a browser at `address` does (the page first, for its CSRF token)."""
    environ = {"REMOTE_ADDR": address}
    token = form_token(client.get(path, headers=host(tenant), environ_base=environ))
    return client.post(path, headers=host(tenant), environ_base=environ,
                       data={"csrf_token": token, **data})


def sign_in(client, tenant, identifier, password=PASSWORD, address="10.0.0.1"):
    return post_from(client, tenant, "/account/login",
                     {"identifier": identifier, "password": password}, address)


def add_mobile_citizen(app, tenant, mobile):
    from app.accounts import hash_password
    from app.accounts.models import User
    from tenants.context import tenant_context
    from tenants.db import db

    with tenant_context(tenant, app):
        db.session.add(User(mobile=mobile, password_hash=hash_password(PASSWORD)))
        db.session.commit()


def test_every_way_of_writing_a_number_counts_against_one_budget(app, client, town):
    add_mobile_citizen(app, town, "13900000001")
    variants = ["13900000001", "139 0000 0001", "+86 139-0000-0001", "0086 13900000001",
                "(139) 0000-0001"]
    for attempt in range(10):
        assert sign_in(client, town, variants[attempt % 5], "guess").status_code == 401
    refused = sign_in(client, town, "+8613900000001")
    assert refused.status_code == 429
    assert "Wait 15 minutes" in refused.get_data(as_text=True)


def test_one_client_can_not_lock_the_owner_out(app, client, town):
    add_citizen(app, town, "owner@example.com")
    for _ in range(10):
        assert sign_in(client, town, " Owner@Example.com ", "guess",
                       address="10.0.0.66").status_code == 401
    assert sign_in(client, town, "owner@example.com", address="10.0.0.66").status_code == 429
    owner = client.application.test_client()
    assert sign_in(owner, town, "owner@example.com", address="10.0.0.7").status_code == 302


def test_many_clients_together_meet_the_account_s_ceiling(app, client, town):
    add_citizen(app, town, "popular@example.com")
    for address in range(10):
        for _ in range(10):
            assert sign_in(client, town, "popular@example.com", "guess",
                           address=f"10.1.0.{address}").status_code == 401
    refused = sign_in(client, town, "popular@example.com", address="10.1.0.99")
    assert refused.status_code == 429 and "paused for up to an hour" in refused.get_data(
        as_text=True)


def test_reset_requests_are_limited_per_account_whatever_the_spelling(app, client, town):
    add_citizen(app, town, "flood@example.com")
    for spelling in ("flood@example.com", "FLOOD@example.com", " flood@EXAMPLE.com",
                     "Flood@Example.Com", "flood@example.com"):
        response = post_from(client, town, "/account/password/forgot", {"identifier": spelling},
                             address=f"10.2.0.{len(spelling)}")
        assert response.status_code == 200
    refused = post_from(client, town, "/account/password/forgot",
                        {"identifier": "flood@example.com"}, address="10.2.0.200")
    assert refused.status_code == 429 and "Wait an hour" in refused.get_data(as_text=True)


def test_registrations_are_limited_per_address(client, town):
    for attempt in range(20):
        response = post_from(client, town, "/account/register", {
            "email": f"new{attempt}@example.com", "password": PASSWORD, "confirm": PASSWORD,
            **CONSENT},
            address="10.3.0.1")
        assert response.status_code == 200
    assert post_from(client, town, "/account/register", {
        "email": "one-more@example.com", "password": PASSWORD, "confirm": PASSWORD, **CONSENT},
        address="10.3.0.1").status_code == 429


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize(("storage", "shared"), [("redis://127.0.0.1:6379/15", True),
                                                 ("memory://", False)])
def test_two_app_processes_share_one_budget_through_redis(
        database_url, outbox_dir, app, make_city, storage, shared):
    if storage.startswith("redis") and not _redis_reachable():
        pytest.skip("no Redis server on 127.0.0.1:6379 to share the counts through")
    town = make_city("redis")
    add_citizen(app, town, "shared@example.com")
    config = app_config(database_url, outbox_dir, RATELIMIT_STORAGE_URI=storage,
                        RATELIMIT_KEY_PREFIX=f"civic-test-{secrets.token_hex(6)}")
    with another_app(dict(config)) as first, another_app(dict(config)) as second:
        one, two = first.test_client(), second.test_client()
        for _ in range(5):
            assert sign_in(one, town, "shared@example.com", "guess").status_code == 401
            assert sign_in(two, town, "shared@example.com", "guess").status_code == 401
        expected = 429 if shared else 302
        assert sign_in(one, town, "shared@example.com").status_code == expected
        assert sign_in(two, town, "shared@example.com").status_code == expected
