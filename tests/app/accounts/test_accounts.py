"""Citizen accounts, each city's own: register, verify, sign in and out, reset, change."""
import re

import pytest
import sqlalchemy as sa

from app.accounts import hash_password
from app.accounts.models import User
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import consented, signed_in_citizen
from tests.support.cities import CONSENT, PASSWORD, host, post_form


@pytest.fixture()
def town(make_city):
    """A city of the test's own: throttling counters and accounts start empty."""
    return make_city("acct", locale="en")


def add_user(app, tenant, **fields) -> int:
    with tenant_context(tenant, app):
        user = User(password_hash=hash_password(fields.pop("password", PASSWORD)),
                    **consented(), **fields)
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client, tenant, identifier, password=PASSWORD):
    return post_form(client, tenant, "/account/login",
                     {"identifier": identifier, "password": password})


def signed_in(client, tenant) -> bool:
    return client.get("/account/", headers=host(tenant)).status_code == 200


def link_in(message) -> str:
    return re.search(r"http://\S+", message.get_content()).group(0)


def test_register_with_email_sends_a_verification_link_then_signs_in(app, client, town, outbox):
    response = post_form(client, town, "/account/register", {
        "email": "Mei@Example.COM", "display_name": "Mei", "password": PASSWORD,
        "confirm": PASSWORD, **CONSENT})
    assert response.status_code == 200 and "Check your messages" in response.get_data(
        as_text=True)
    assert sign_in(client, town, "mei@example.com").status_code == 302
    page = client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert "mei@example.com" in page and "not confirmed yet" in page
    (message,) = outbox(town.slug)
    assert message["To"] == "mei@example.com"
    link = link_in(message)
    assert link.startswith(f"http://{town.domains[0]}/account/verify/")
    assert client.get(link.split(town.domains[0])[1], headers=host(town)).status_code == 302
    assert "not confirmed yet" not in client.get("/account/", headers=host(town)).get_data(
        as_text=True)
    with tenant_context(town, app):
        user = db.session.scalar(sa.select(User).where(User.email == "mei@example.com"))
        assert user.email_verified_at is not None
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_register_with_a_mobile_number_only(client, town, outbox, outbox_dir):
    response = post_form(client, town, "/account/register", {
        "mobile": "+86 138-1234-5678", "password": PASSWORD, "confirm": PASSWORD, **CONSENT})
    assert response.status_code == 200
    assert sign_in(client, town, "138 1234 5678").status_code == 302
    assert "13812345678" in client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert outbox(town.slug) == []
    (sms,) = (outbox_dir / town.slug).glob("sms-*.txt")
    assert sms.read_text(encoding="utf-8").startswith("To: 13812345678")


@pytest.mark.parametrize(("data", "message"), [
    ({"password": PASSWORD, "confirm": PASSWORD, **CONSENT},
     "Give an email address or a mobile number"),
    ({"email": "not-an-address", "password": PASSWORD, "confirm": PASSWORD, **CONSENT},
     "Enter an email address such as"),
    ({"mobile": "12345", "password": PASSWORD, "confirm": PASSWORD, **CONSENT}, "11-digit"),
    ({"email": "x@example.com", "password": "short", "confirm": "short", **CONSENT}, "10 to 128"),
    ({"email": "x@example.com", "password": PASSWORD, "confirm": PASSWORD + "!", **CONSENT},
     "not the same"),
])
def test_bad_registrations_keep_the_values_and_name_the_problem(app, client, town, data, message):
    response = post_form(client, town, "/account/register", data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body and 'aria-invalid="true"' in body and "There is a problem" in body
    if "email" in data:
        assert f'value="{data["email"]}"' in body
    assert PASSWORD not in body  # passwords are never sent back
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_an_address_already_registered_gets_the_same_answer_and_its_owner_a_note(
        app, client, town, outbox):
    add_user(app, town, email="taken@example.com")
    taken = post_form(client, town, "/account/register", {
        "email": "TAKEN@example.com", "password": PASSWORD, "confirm": PASSWORD, **CONSENT})
    free = post_form(client, town, "/account/register", {
        "email": "free@example.com", "password": PASSWORD, "confirm": PASSWORD, **CONSENT})
    assert taken.status_code == free.status_code == 200
    assert _without_form_tokens(taken, "taken@example.com") == _without_form_tokens(
        free, "free@example.com")
    note, verification = outbox(town.slug)
    assert note["To"] == "taken@example.com" and "already" in note["Subject"]
    assert verification["To"] == "free@example.com"
    with tenant_context(town, app):  # no second account, and the password was not changed
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
    assert sign_in(client, town, "taken@example.com").status_code == 302


def _without_form_tokens(response, identifier) -> str:
    body = response.get_data(as_text=True).replace(identifier, "IDENTIFIER")
    return re.sub(r'value="[^"]*"', "", body)


def test_forms_without_a_csrf_token_are_refused(client, town):
    response = client.post("/account/register", headers=host(town), data={
        "email": "csrf@example.com", "password": PASSWORD, "confirm": PASSWORD, **CONSENT})
    assert response.status_code == 400


def test_sign_in_with_email_or_mobile_and_sign_out(app, client, town):
    add_user(app, town, email="li@example.com", mobile="13900000000")
    assert sign_in(client, town, "LI@example.com").status_code == 302
    assert signed_in(client, town)
    token = form_token(client.get("/account/", headers=host(town)))
    client.post("/account/logout", data={"csrf_token": token}, headers=host(town))
    assert not signed_in(client, town)
    assert sign_in(client, town, "139 0000 0000").status_code == 302


def test_wrong_password_and_unknown_account_get_the_same_answer(app, client, town):
    add_user(app, town, email="real@example.com")
    wrong = sign_in(client, town, "real@example.com", "not the password")
    unknown = sign_in(client, town, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    error = re.compile(r'class="error-message"[^>]*>([^<]+)<')
    assert error.findall(wrong.get_data(as_text=True)) == error.findall(
        unknown.get_data(as_text=True)) != []
    assert not signed_in(client, town)


def test_sign_in_is_throttled_per_account(app, client, town):
    add_user(app, town, email="target@example.com")
    for _ in range(10):
        assert sign_in(client, town, "target@example.com", "guess").status_code == 401
    assert sign_in(client, town, "target@example.com", PASSWORD).status_code == 429
    # another account from the same address still works
    add_user(app, town, email="other@example.com")
    assert sign_in(client, town, "other@example.com").status_code == 302


def test_sign_in_is_throttled_per_address(app, client, town):
    for attempt in range(30):
        assert sign_in(client, town, f"user{attempt}@example.com", "guess").status_code == 401
    response = sign_in(client, town, "one-more@example.com", "guess")
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


def test_a_session_cookie_from_one_city_is_not_a_session_on_another(app, client, make_city):
    first, second = make_city("cookie"), make_city("cookie")
    # the same account id exists in both cities
    assert add_user(app, first, email="same@example.com") == add_user(
        app, second, email="same@example.com")
    sign_in(client, first, "same@example.com")
    assert signed_in(client, first)
    cookie = client.get_cookie("session", domain=first.domains[0])
    client.set_cookie("session", cookie.value, domain=second.domains[0])
    assert not signed_in(client, second)
    assert client.get("/account/", headers=host(second)).status_code == 302


def test_only_same_site_paths_are_followed_after_sign_in(app, client, town):
    add_user(app, town, email="next@example.com")
    for target, expected in (("https://evil.example/", "/account/"),
                             ("//evil.example", "/account/"),
                             ("/account/profile", "/account/profile")):
        token = form_token(client.get("/account/login", headers=host(town)))
        response = client.post(f"/account/login?next={target}", headers=host(town), data={
            "csrf_token": token, "identifier": "next@example.com", "password": PASSWORD})
        assert response.location == expected
        client.post("/account/logout", headers=host(town), data={"csrf_token": form_token(
            client.get("/account/", headers=host(town)))})


def test_password_reset_link_works_once_and_only_in_its_city(app, client, town, make_city,
                                                            outbox):
    add_user(app, town, email="forgot@example.com")
    known = post_form(client, town, "/account/password/forgot",
                      {"identifier": "forgot@example.com"})
    unknown = post_form(client, town, "/account/password/forgot",
                        {"identifier": "who@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in known.get_data(as_text=True)
    assert _without_form_tokens(known, "forgot@example.com") == _without_form_tokens(
        unknown, "who@example.com")
    message, no_account = outbox(town.slug)
    assert no_account["To"] == "who@example.com" and "there is none" in no_account.get_content()
    path = link_in(message).split(town.domains[0])[1]

    elsewhere = make_city("other")
    assert client.get(path, headers=host(elsewhere)).status_code == 400

    new_password = "a brand new password"
    other_device = app.test_client()
    sign_in(other_device, town, "forgot@example.com")
    response = post_form(client, town, path, {"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert client.get(path, headers=host(town)).status_code == 400  # used
    assert sign_in(client, town, "forgot@example.com").status_code == 401
    assert sign_in(client, town, "forgot@example.com", new_password).status_code == 302
    assert not signed_in(other_device, town)  # a reset signs every device out


def test_changing_the_password_ends_other_sessions(app, town):
    add_user(app, town, email="two@example.com")
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, town, "two@example.com")
    sign_in(laptop, town, "two@example.com")
    wrong = post_form(laptop, town, "/account/password", {
        "current_password": "not it", "password": "another password!", "confirm":
        "another password!"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    done = post_form(laptop, town, "/account/password", {
        "current_password": PASSWORD, "password": "another password!", "confirm":
        "another password!"})
    assert done.status_code == 302
    assert signed_in(laptop, town)
    assert not signed_in(phone, town)


def test_profile_changes_are_saved(app, client, town):
    user_id = add_user(app, town, email="profile@example.com")
    sign_in(client, town, "profile@example.com")
    response = post_form(client, town, "/account/profile",
                         {"display_name": "  Zhang Wei ", "locale": "zh_Hans"})
    assert response.status_code == 302
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        assert (user.display_name, user.locale) == ("Zhang Wei", "zh_Hans")
    refused = post_form(client, town, "/account/profile", {"display_name": "x", "locale": "fr"})
    assert refused.status_code == 422


def test_a_deactivated_account_cannot_sign_in(app, client, town):
    add_user(app, town, email="gone@example.com", active=False)
    assert sign_in(client, town, "gone@example.com").status_code == 401


def test_account_pages_need_a_signed_in_citizen(client, town):
    for path in ("/account/", "/account/profile", "/account/password"):
        response = client.get(path, headers=host(town))
        assert response.status_code == 302 and "/account/login" in response.location


def test_a_citizen_downloads_their_own_data_as_json(app, client, town):
    assert client.get("/account/data.json", headers=host(town)).status_code == 302  # signed out
    user_id = signed_in_citizen(app, client, town, "mine@example.com")
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        user.display_name = "王芳"
        db.session.commit()
    assert "/account/data.json" in client.get("/account/", headers=host(town)).get_data(
        as_text=True)
    response = client.get("/account/data.json", headers=host(town))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["account"]["email"] == "mine@example.com" and data["account"]["name"] == "王芳"
    assert len(data["sign_ins"]) == 1 and data["payments"] == []
    assert "王芳" in response.get_data(as_text=True)  # UTF-8, not escapes
