"""Mobile numbers verified by an SMS code, and passwords reset by one: six digits, kept hashed,
short-lived, single-use, a few tries each, rate-limited."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts import hash_password
from app.accounts.models import OneTimeCode, User
from tenants.context import tenant_context
from tenants.db import db
from tests.support.accounts import consented, last_code, texts
from tests.support.cities import CONSENT, PASSWORD, host, post_form

NEW_PASSWORD = "lantern orbit velvet canyon"


@pytest.fixture()
def town(make_city):
    return make_city("sms", locale="en")


def add_mobile_user(app, tenant, mobile) -> int:
    with tenant_context(tenant, app):
        user = User(mobile=mobile, password_hash=hash_password(PASSWORD), **consented())
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client, tenant, identifier, password=PASSWORD):
    return post_form(client, tenant, "/account/login",
                     {"identifier": identifier, "password": password})


def ask_reset(client, tenant, mobile):
    return post_form(client, tenant, "/account/password/forgot", {"identifier": mobile})


def reset(client, tenant, code, password=NEW_PASSWORD):
    return post_form(client, tenant, "/account/password/reset-by-code",
                     {"code": code, "password": password, "confirm": password})


def test_a_new_mobile_number_is_confirmed_by_the_code_sent_to_it(app, client, town,
                                                                 outbox_dir):
    post_form(client, town, "/account/register", {"mobile": "139-0000-1111",
                                                  "password": PASSWORD, "confirm": PASSWORD,
                                                  **CONSENT})
    code = last_code(outbox_dir, town)
    assert texts(outbox_dir, town)[-1].startswith("To: 13900001111")
    with tenant_context(town, app):  # only its HMAC is kept
        (row,) = db.session.scalars(sa.select(OneTimeCode)).all()
        assert code not in row.code_hash and len(row.code_hash) == 64
    sign_in(client, town, "13900001111")
    assert "not confirmed yet" in client.get("/account/", headers=host(town)).get_data(
        as_text=True)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert post_form(client, town, "/account/mobile/verify", {"code": wrong},
                     page="/account/").status_code == 401
    assert post_form(client, town, "/account/mobile/verify", {"code": code},
                     page="/account/").status_code == 302
    page = client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert "not confirmed yet" not in page
    # used once: a second try with it is refused (the number is confirmed already: 400)
    assert post_form(client, town, "/account/mobile/verify", {"code": code},
                     page="/account/").status_code == 400


def test_a_password_is_reset_by_sms_code_once(app, client, town, outbox_dir):
    add_mobile_user(app, town, "13900002222")
    other_device = app.test_client()
    sign_in(other_device, town, "13900002222")
    response = ask_reset(client, town, "+86 139 0000 2222")
    assert response.status_code == 302 and response.location == "/account/password/reset-by-code"
    code = last_code(outbox_dir, town)
    assert reset(client, town, code).status_code == 302
    assert sign_in(client, town, "13900002222", NEW_PASSWORD).status_code == 302
    assert client.get("/account/", headers=host(town)).status_code == 200
    assert other_device.get("/account/", headers=host(town)).status_code == 302  # signed out
    fresh = app.test_client()
    ask_reset(fresh, town, "13900002222")
    assert reset(fresh, town, code, "a second new passphrase here").status_code == 401


def test_a_code_allows_five_tries_then_none(app, client, town, outbox_dir):
    add_mobile_user(app, town, "13900003333")
    ask_reset(client, town, "13900003333")
    code = last_code(outbox_dir, town)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        assert reset(client, town, wrong).status_code == 401
    assert reset(client, town, code).status_code == 401  # even the right one, now
    ask_reset(client, town, "13900003333")  # a new code works
    assert reset(client, town, last_code(outbox_dir, town)).status_code == 302


def test_an_expired_code_is_refused(app, client, town, outbox_dir):
    add_mobile_user(app, town, "13900004444")
    ask_reset(client, town, "13900004444")
    with tenant_context(town, app):
        db.session.execute(sa.update(OneTimeCode).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    response = reset(client, town, last_code(outbox_dir, town))
    assert response.status_code == 401 and "expired" in response.get_data(as_text=True)


def test_an_unknown_number_gets_the_same_answer_and_no_message(app, client, town, outbox_dir):
    add_mobile_user(app, town, "13900005555")
    known = ask_reset(client, town, "13900005555")
    sent = len(texts(outbox_dir, town))
    unknown = ask_reset(app.test_client(), town, "13900006666")
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    assert len(texts(outbox_dir, town)) == sent


def test_code_requests_are_rate_limited(app, client, town):
    add_mobile_user(app, town, "13900007777")
    for _ in range(5):
        assert ask_reset(client, town, "139 0000 7777").status_code == 302
    assert ask_reset(client, town, "+8613900007777").status_code == 429
