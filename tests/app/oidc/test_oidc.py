"""Sign-in with a city's OpenID Connect provider, against a real provider process on loopback
(tests/support/oidc_provider.py): the app fetches discovery, keys and tokens from it over HTTP,
and the test follows the browser's redirects through its authorization endpoint."""
import itertools
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa
from alembic import command

from app import accounts, crypto
from app.accounts.models import User
from app.audit.models import AuditEntry
from app.oidc.models import OidcProvider, UserIdentity
from config.settings import ConfigurationError, from_environment
from tenants.context import tenant_context
from tenants.db import db
from tests.support import ROOT
from tests.support.accounts import consented
from tests.support.migrations import tenant_schema_at

PROVIDER_SCRIPT = str(ROOT / "tests/support/oidc_provider.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    url: str
    client_id: str
    client_secret: str

    def add_user(self, sub=None, email=None, email_verified=True, name="", **extra) -> str:
        key = f"user-{uuid.uuid4().hex[:10]}"
        user = {"key": key, "sub": sub or f"sub-{uuid.uuid4().hex}", "email": email,
                "email_verified": email_verified, "name": name, **extra}
        requests.post(f"{self.url}/testing/users", json=user, timeout=10).raise_for_status()
        return key

    def log(self) -> dict:
        return requests.get(f"{self.url}/testing/log", timeout=10).json()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The provider process, for this module; killed at the end."""
    client_id, client_secret = "civiccloud-test", secrets.token_hex(16)
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    for _attempt in range(3):
        port = _free_port()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, PROVIDER_SCRIPT, "--port", str(port), "--client-id", client_id,
                 f"--client-secret={client_secret}",
                 "--redirect-uri-prefix", "http://alpha.test/",
                 "--redirect-uri-prefix", "http://beta.test/"],
                stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{url}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        if process.poll() is None:
            break
    else:
        raise RuntimeError(f"the test OpenID provider did not start: {log_path.read_text()}")
    try:
        yield Provider(url, client_id, client_secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_keys = itertools.count(1)


def _add(cli, slug, provider, key=None, name="Gov ID", issuer=None, secret=None):
    key = key or f"gov-{next(_keys)}"
    result = cli.invoke(args=["tenants", "oidc", "add", slug, "--key", key, "--name", name,
                              "--issuer", issuer or provider.url,
                              "--client-id", provider.client_id,
                              "--client-secret", secret or provider.client_secret])
    assert result.exit_code == 0, result.output
    return key


@pytest.fixture()
def gov_id(cli, cities, provider):
    """A fresh provider key on alpha (the city and its users outlive each test)."""
    return _add(cli, "alpha", provider)


def _start(client, host, key, **query):
    response = client.get(f"/account/login/oidc/{key}" + (f"?{urlencode(query)}" if query else ""),
                          headers={"Host": host})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def _with_query(url, **changes):
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    query = {name: value for name, value in query.items() if value is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


def _at_provider(authorize_url, user_key):
    """What the browser does at the provider: it approves for `user_key` and redirects."""
    answer = requests.get(_with_query(authorize_url, login_hint=user_key), allow_redirects=False,
                          timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _sign_in(client, key, user_key, host="alpha.test", **query):
    callback = _at_provider(_start(client, host, key, **query), user_key)
    return client.get(callback)


def _in_english(client, host="alpha.test") -> None:
    """alpha's default language is Chinese; these tests read the English messages."""
    assert client.get("/lang/en", headers={"Host": host}).status_code == 302


def _signed_in(client, host="alpha.test") -> bool:
    """"My account" opens, or asks first for the privacy notice an account made by the
    provider has not accepted yet."""
    response = client.get("/account/", headers={"Host": host})
    return response.status_code == 200 or (
        response.status_code == 302 and response.location.startswith("/privacy/accept"))


def _user(app, email=None, **values):
    """An account as registration makes it (the privacy notice accepted)."""
    with tenant_context("alpha", app):
        user = User(email=email, locale="zh_Hans", **consented(), **values)
        db.session.add(user)
        db.session.commit()
        return user.id


def _identities(app, key):
    with tenant_context("alpha", app):
        return db.session.execute(
            sa.select(UserIdentity.subject, UserIdentity.user_id, UserIdentity.email)
            .join(OidcProvider, OidcProvider.id == UserIdentity.provider_id)
            .where(OidcProvider.key == key)).all()


def _email():
    return f"citizen-{uuid.uuid4().hex[:10]}@example.com"


# -- The sign-in page --------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_citys_enabled_providers(client, cli, gov_id, provider):
    other = _add(cli, "alpha", provider, name="Province ID")
    page = client.get("/account/login?next=/account/profile",
                      headers={"Host": "alpha.test"}).get_data(as_text=True)
    assert "Gov ID" in page and "Province ID" in page
    assert f'href="/account/login/oidc/{gov_id}?next=/account/profile"' in page
    assert cli.invoke(args=["tenants", "oidc", "disable", "alpha", other]).exit_code == 0
    page = client.get("/account/login", headers={"Host": "alpha.test"}).get_data(as_text=True)
    assert f"/account/login/oidc/{other}" not in page
    assert f"/account/login/oidc/{gov_id}" in page


def test_the_button_has_accessible_text_in_english(client, cli, cities, provider):
    key = _add(cli, "beta", provider, name="Beta Login")
    page = client.get("/account/login", headers={"Host": "beta.test"}).get_data(as_text=True)
    assert f'href="/account/login/oidc/{key}">Sign in with Beta Login</a>' in page


# -- The flow ----------------------------------------------------------------------------------


def test_the_first_sign_in_creates_an_account_and_signs_in(app, client, gov_id, provider):
    email = _email()
    user_key = provider.add_user(email=email, name="Li Lei")
    authorize_url = _start(client, "alpha.test", gov_id)
    request = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{provider.url}/authorize?")
    assert request["code_challenge_method"] == ["S256"] and request["code_challenge"][0]
    assert request["nonce"][0] and request["state"][0]
    assert request["redirect_uri"] == [f"http://alpha.test/account/login/oidc/{gov_id}/callback"]
    assert set(request["scope"][0].split()) == {"openid", "email", "profile"}
    assert not _signed_in(client)

    response = client.get(_at_provider(authorize_url, user_key))
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert _signed_in(client)
    # The provider's account has accepted no privacy notice: it is asked on its first page.
    asked = client.get("/account/", headers={"Host": "alpha.test"})
    assert asked.status_code == 302 and asked.location == "/privacy/accept?next=/account/"

    with tenant_context("alpha", app):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user.email_verified_at is not None and user.display_name == "Li Lei"
        assert user.password_hash is None and user.last_login_at is not None
        audit = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "account.oidc_create", AuditEntry.target == f"user:{user.id}"))
        assert audit.after["provider"] == gov_id
    assert [(user_id, email_) for _, user_id, email_ in _identities(app, gov_id)] == [
        (user.id, email)]
    # What the provider saw: the PKCE challenge, then the verifier with the code.
    seen = [a for a in provider.log()["authorizations"] if a["user"] == user_key]
    assert seen[-1]["code_challenge"] == request["code_challenge"][0]
    assert seen[-1]["code_challenge_method"] == "S256"
    assert seen[-1]["nonce"] == request["nonce"][0]
    assert any(t["user"] == user_key and t["code_verifier"] for t in provider.log()["tokens"])


def test_a_second_sign_in_uses_the_same_identity(app, gov_id, provider):
    email = _email()
    user_key = provider.add_user(email=email)
    first, second = app.test_client(), app.test_client()
    assert _sign_in(first, gov_id, user_key).status_code == 302
    assert _sign_in(second, gov_id, user_key).status_code == 302
    assert _signed_in(second)
    identities = _identities(app, gov_id)
    assert len(identities) == 1
    with tenant_context("alpha", app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)
                                 .where(User.email == email)) == 1
        assert db.session.get(User, identities[0].user_id).email == email


def test_the_identity_is_found_by_subject_even_when_the_email_changes(app, gov_id, provider):
    sub = f"sub-{uuid.uuid4().hex}"
    first = provider.add_user(sub=sub, email=_email())
    assert _sign_in(app.test_client(), gov_id, first).status_code == 302
    moved = provider.add_user(sub=sub, email=_email())
    assert _sign_in(app.test_client(), gov_id, moved).status_code == 302
    assert len({user_id for _, user_id, _ in _identities(app, gov_id)}) == 1


def test_a_verified_email_links_the_existing_password_account(app, client, gov_id, provider):
    email = _email()
    user_id = _user(app, email, password_hash=accounts.hash_password("correct horse 1"),
                    email_verified_at=sa.func.now())
    user_key = provider.add_user(email=email.upper())
    response = _sign_in(client, gov_id, user_key)
    assert response.status_code == 302 and _signed_in(client)
    assert [uid for _, uid, _ in _identities(app, gov_id)] == [user_id]
    page = client.get("/account/", headers={"Host": "alpha.test"}).get_data(as_text=True)
    assert "Gov ID" in page  # the "Linked sign-ins" section
    with tenant_context("alpha", app):  # the password still works
        assert accounts.authenticate(email, "correct horse 1").id == user_id
        assert db.session.scalar(sa.select(AuditEntry.action).where(
            AuditEntry.target == f"user:{user_id}")) == "account.oidc_link"


def test_linking_an_unconfirmed_address_removes_the_password_someone_chose(app, gov_id, provider):
    """Whoever registered the address first never proved owning it (account pre-hijacking)."""
    email = _email()
    user_id = _user(app, email, password_hash=accounts.hash_password("attacker's pass 1"))
    squatter = app.test_client()
    page = squatter.get("/account/login", headers={"Host": "alpha.test"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    squatter.post("/account/login", headers={"Host": "alpha.test"}, data={
        "identifier": email, "password": "attacker's pass 1", "csrf_token": token})
    assert _signed_in(squatter)

    owner = app.test_client()
    assert _sign_in(owner, gov_id, provider.add_user(email=email)).status_code == 302
    assert _signed_in(owner)
    assert not _signed_in(squatter)
    with tenant_context("alpha", app):
        user = db.session.get(User, user_id)
        assert user.password_hash is None and user.email_verified_at is not None
        assert accounts.authenticate(email, "attacker's pass 1") is None


def test_an_unverified_email_is_not_linked_nor_kept(app, client, gov_id, provider):
    email = _email()
    existing = _user(app, email, password_hash=accounts.hash_password("correct horse 1"),
                     email_verified_at=sa.func.now())
    user_key = provider.add_user(email=email, email_verified=False)
    assert _sign_in(client, gov_id, user_key).status_code == 302
    assert _signed_in(client)
    ((_, user_id, reported),) = _identities(app, gov_id)
    assert user_id != existing and reported == email
    with tenant_context("alpha", app):
        new = db.session.get(User, user_id)
        assert new.email is None and new.email_verified_at is None


def test_an_email_only_in_userinfo_is_read_from_there(app, client, gov_id, provider):
    email = _email()
    user_key = provider.add_user(email=email, email_in_id_token=False)
    assert _sign_in(client, gov_id, user_key).status_code == 302
    ((_, user_id, _),) = _identities(app, gov_id)
    with tenant_context("alpha", app):
        assert db.session.get(User, user_id).email == email


def test_next_is_kept_through_the_flow_but_only_on_this_site(app, gov_id, provider):
    user_key = provider.add_user(email=_email())
    response = _sign_in(app.test_client(), gov_id, user_key, next="/account/profile")
    assert response.headers["Location"] == "/account/profile"
    response = _sign_in(app.test_client(), gov_id, user_key, next="https://evil.example/")
    assert response.headers["Location"] == "/account/"


def test_a_disabled_account_is_not_signed_in(app, client, gov_id, provider):
    user_key = provider.add_user(email=_email())
    assert _sign_in(app.test_client(), gov_id, user_key).status_code == 302
    ((_, user_id, _),) = _identities(app, gov_id)
    with tenant_context("alpha", app):
        db.session.get(User, user_id).active = False
        db.session.commit()
    _in_english(client)
    response = _sign_in(client, gov_id, user_key)
    assert response.status_code == 403 and "disabled" in response.get_data(as_text=True)
    assert not _signed_in(client)


# -- What goes wrong ---------------------------------------------------------------------------


def test_the_provider_refuses_an_authorization_without_pkce(client, gov_id, provider):
    authorize_url = _start(client, "alpha.test", gov_id)
    without = _with_query(authorize_url, code_challenge=None, code_challenge_method=None)
    callback = _at_provider(without, provider.add_user(email=_email()))
    assert parse_qs(urlsplit(callback).query)["error"] == ["invalid_request"]
    response = client.get(callback)
    assert response.status_code == 400 and "invalid_request" in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_a_tampered_state_gets_a_clear_page_and_no_sign_in(client, gov_id, provider):
    callback = _at_provider(_start(client, "alpha.test", gov_id),
                            provider.add_user(email=_email()))
    response = client.get(_with_query(callback, state="forged-" + secrets.token_hex(8)))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<h1>" in body and ("expired" in body or "过期" in body)
    assert not _signed_in(client)
    # The real state still works once: the forged one did not use it up…
    assert client.get(callback).status_code == 302 and _signed_in(client)
    # …and a second use of the same answer does not.
    assert client.get(callback).status_code == 400


def test_an_answer_for_another_browser_is_refused(app, client, gov_id, provider):
    callback = _at_provider(_start(client, "alpha.test", gov_id),
                            provider.add_user(email=_email()))
    stranger = app.test_client()
    assert stranger.get(callback).status_code == 400
    assert not _signed_in(stranger)


def test_access_denied_at_the_provider_gets_a_clear_page(client, gov_id):
    callback = _at_provider(_start(client, "alpha.test", gov_id), "!deny")
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    response = client.get(callback, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert not _signed_in(client)


@pytest.mark.parametrize("broken", [
    {"nonce": "not-the-nonce-sent"},
    {"aud": "someone-else"},
    {"aud": "someone-else", "azp": "CLIENT"},  # made for another client, even if it names us
    {"aud": ["someone-else", "another"], "azp": "CLIENT"},
    {"iss": "http://127.0.0.1:1"},
    {"exp": 1_000_000},
])
def test_an_id_token_that_does_not_verify_signs_nobody_in(client, gov_id, provider, broken):
    _in_english(client)
    broken = {name: provider.client_id if value == "CLIENT" else value
              for name, value in broken.items()}
    user_key = provider.add_user(email=_email(), id_token_claims=broken)
    response = _sign_in(client, gov_id, user_key)
    assert response.status_code == 400 and "could not be verified" in response.get_data(
        as_text=True)
    assert not _signed_in(client)


def test_an_id_token_signed_with_another_key_signs_nobody_in(client, gov_id, provider):
    response = _sign_in(client, gov_id, provider.add_user(email=_email(), forge_signature=True))
    assert response.status_code == 400 and not _signed_in(client)


def test_an_issuer_that_discovery_contradicts_is_not_used(client, cli, cities, provider):
    # Same server, but its discovery document names http://127.0.0.1:…, not localhost.
    key = _add(cli, "alpha", provider, issuer=provider.url.replace("127.0.0.1", "localhost"))
    response = client.get(f"/account/login/oidc/{key}", headers={"Host": "alpha.test"})
    assert response.status_code == 502 and "Gov ID" in response.get_data(as_text=True)


def test_an_unreachable_provider_gets_a_clear_page(client, cli, cities, provider):
    key = _add(cli, "alpha", provider, issuer=f"http://127.0.0.1:{_free_port()}")
    _in_english(client)
    response = client.get(f"/account/login/oidc/{key}", headers={"Host": "alpha.test"})
    assert response.status_code == 502
    assert "Gov ID cannot be reached at the moment" in response.get_data(as_text=True)


def test_a_wrong_client_secret_fails_at_the_token_endpoint(client, cli, cities, provider):
    key = _add(cli, "alpha", provider, secret="not-the-secret")
    response = _sign_in(client, key, provider.add_user(email=_email()))
    assert response.status_code == 400 and not _signed_in(client)


# -- Cities and providers ----------------------------------------------------------------------


def test_a_provider_of_alpha_does_not_exist_on_beta(client, gov_id):
    for path in (f"/account/login/oidc/{gov_id}", f"/account/login/oidc/{gov_id}/callback"):
        assert client.get(path, headers={"Host": "beta.test"}).status_code == 404
    page = client.get("/account/login", headers={"Host": "beta.test"}).get_data(as_text=True)
    assert gov_id not in page


def test_a_flow_started_on_one_city_cannot_finish_on_another(app, client, cli, gov_id, provider):
    _add(cli, "beta", provider, key=gov_id)  # the same key and provider on beta
    callback = _at_provider(_start(client, "alpha.test", gov_id),
                            provider.add_user(email=_email()))
    on_beta = callback.replace("http://alpha.test/", "http://beta.test/")
    assert client.get(on_beta).status_code == 400
    assert not _signed_in(client, "beta.test")


def test_a_disabled_provider_answers_404(client, cli, gov_id, provider):
    authorize_url = _start(client, "alpha.test", gov_id)
    result = cli.invoke(args=["tenants", "oidc", "disable", "alpha", gov_id])
    assert result.exit_code == 0 and f"disabled the OpenID provider {gov_id}" in result.output
    assert client.get(f"/account/login/oidc/{gov_id}",
                      headers={"Host": "alpha.test"}).status_code == 404
    callback = _at_provider(authorize_url, provider.add_user(email=_email()))
    assert client.get(callback).status_code == 404
    assert not _signed_in(client)
    assert cli.invoke(args=["tenants", "oidc", "enable", "alpha", gov_id]).exit_code == 0
    assert client.get(f"/account/login/oidc/{gov_id}",
                      headers={"Host": "alpha.test"}).status_code == 302


# -- `flask tenants oidc` ----------------------------------------------------------------------


def test_a_provider_named_in_chinese_only_is_added_and_listed(cli, cities, provider):
    added = cli.invoke(args=["tenants", "oidc", "add", "beta", "--name-zh", "浙里办", "--key",
                             "zlb", "--issuer", provider.url, "--client-id", "cid",
                             "--client-secret", "s"])
    assert added.exit_code == 0 and "(浙里办)" in added.output, added.output
    assert "浙里办" in cli.invoke(args=["tenants", "oidc", "list", "beta"]).output
    nameless = cli.invoke(args=["tenants", "oidc", "add", "beta", "--key", "none", "--issuer",
                                provider.url, "--client-id", "cid", "--client-secret", "s"])
    assert nameless.exit_code != 0 and "give --name (English) or --name-zh" in nameless.output


def test_add_list_and_disable(app, cli, cities, provider):
    secret = "very-secret-" + secrets.token_hex(8)
    added = cli.invoke(args=["tenants", "oidc", "add", "beta", "--name", "Zhejiang Gov Online",
                             "--issuer", provider.url, "--client-id", "cid-1",
                             "--client-secret", secret])
    assert added.exit_code == 0, added.output
    key = "zhejiang-gov-online"  # made from the name
    assert f"added the OpenID provider {key}" in added.output
    assert f"http://beta.test/account/login/oidc/{key}/callback" in added.output
    assert f"http://www.beta.test/account/login/oidc/{key}/callback" in added.output

    listed = cli.invoke(args=["tenants", "oidc", "list", "beta"])
    assert listed.exit_code == 0 and key in listed.output and "enabled" in listed.output
    rows = {row["key"]: row for row in json.loads(
        cli.invoke(args=["tenants", "oidc", "list", "beta", "--json"]).output)}
    assert rows[key] == {"key": key, "name": "Zhejiang Gov Online", "name_zh": "",
                         "issuer": provider.url,
                         "client_id": "cid-1", "scopes": "openid email profile",
                         "enabled": True}

    disabled = cli.invoke(args=["tenants", "oidc", "disable", "beta", key])
    assert disabled.exit_code == 0, disabled.output
    assert f"{key:<20} disabled" in cli.invoke(args=["tenants", "oidc", "list", "beta"]).output
    again = cli.invoke(args=["tenants", "oidc", "disable", "beta", key])
    assert again.exit_code != 0 and "already disabled" in again.output

    for result in (added, listed, disabled):
        assert secret not in result.output
    with tenant_context("beta", app):
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.target == f"oidc_provider:{key}").order_by(AuditEntry.id)).all()
        assert [entry.action for entry in entries] == ["oidc_provider.add",
                                                       "oidc_provider.disable"]
        assert entries[0].actor.startswith("cli")
        assert entries[1].before["enabled"] is True and entries[1].after["enabled"] is False
        assert secret not in json.dumps([entry.before for entry in entries])
        assert secret not in json.dumps([entry.after for entry in entries])


def test_the_secret_is_stored_encrypted(app, cli, cities, provider):
    secret = "s3cret-" + secrets.token_hex(8)
    key = _add(cli, "alpha", provider, secret=secret)
    with tenant_context("alpha", app):
        stored = db.session.execute(sa.text(
            "SELECT client_secret_encrypted FROM oidc_providers WHERE key = :key"),
            {"key": key}).scalar_one()
        assert secret not in stored
        assert crypto.decrypt(stored) == secret


def test_bad_input_gets_a_message_and_a_non_zero_exit(cli, cities, provider):
    key = _add(cli, "alpha", provider)
    base = ["--client-id", "x", "--client-secret", "y"]
    cases = [
        (["add", "no-such-city", "--name", "X", "--issuer", provider.url, *base],
         "no city with the slug"),
        (["add", "alpha", "--key", key, "--name", "X", "--issuer", provider.url, *base],
         "already has an OpenID provider with the key"),
        (["add", "alpha", "--name", "X", "--issuer", "ftp://idp.example", *base],
         "must be an https://"),
        (["add", "alpha", "--name", "X", "--issuer", "not a url", *base], "must be an https://"),
        (["add", "alpha", "--name", "X", "--issuer", "https://idp.example/?a=1", *base],
         "without query"),
        (["add", "alpha", "--name", "政务服务网", "--issuer", provider.url, *base], "give --key"),
        (["add", "alpha", "--key", "Bad_Key", "--name", "X", "--issuer", provider.url, *base],
         "the key must be"),
        (["add", "alpha", "--name", "X", "--issuer", provider.url, "--scopes", "email", *base],
         "must include openid"),
        (["add", "alpha", "--name", "X", "--issuer", provider.url, "--client-id", "x",
          "--client-secret", ""], "must not be empty"),
        (["list", "no-such-city"], "no city with the slug"),
        (["disable", "alpha", "no-such-key"], "has no OpenID provider with the key"),
        (["disable", "no-such-city", key], "no city with the slug"),
    ]
    for args, message in cases:
        result = cli.invoke(args=["tenants", "oidc", *args])
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)


def test_the_secret_can_be_typed_at_a_prompt(app, cli, cities, provider):
    result = cli.invoke(args=["tenants", "oidc", "add", "alpha", "--name", "Prompted",
                              "--key", f"prompted-{next(_keys)}", "--issuer", provider.url,
                              "--client-id", "x"], input="typed-secret\n")
    assert result.exit_code == 0, result.output
    assert "typed-secret" not in result.output


# -- app/crypto.py -----------------------------------------------------------------------------


def test_encrypt_and_decrypt(app):
    with app.app_context():
        token = crypto.encrypt("商户密钥 merchant key")
        assert token != crypto.encrypt("商户密钥 merchant key")  # random IV
        assert crypto.decrypt(token) == "商户密钥 merchant key"
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token[:-4] + "AAAA")
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt("not a token")


def test_the_development_key_comes_from_secret_key_and_rotation_keeps_old_values():
    assert crypto.development_key("a") == crypto.development_key("a")
    assert crypto.development_key("a") != crypto.development_key("b")
    old, new = crypto.development_key("old").decode(), crypto.development_key("new").decode()
    config = {"CIVIC_ENV": "production", "SECRET_KEY": "x"}
    assert crypto.keys_from_config({**config, "DATA_ENCRYPTION_KEY": f"{new}, {old}"}) == (
        new.encode(), old.encode())
    from flask import Flask

    flask_app = Flask(__name__)
    flask_app.config.update(config, DATA_ENCRYPTION_KEY=old)
    with flask_app.app_context():
        token = crypto.encrypt("kept")
    flask_app.config["DATA_ENCRYPTION_KEY"] = f"{new},{old}"
    with flask_app.app_context():
        assert crypto.decrypt(token) == "kept"
    flask_app.config["DATA_ENCRYPTION_KEY"] = new
    with flask_app.app_context(), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_production_needs_a_valid_data_encryption_key():
    environment = {"CIVIC_ENV": "production", "SECRET_KEY": "s" * 32,
                   "DATABASE_URL": "postgresql://x", "RATELIMIT_STORAGE_URI": "redis://r:6379/0",
                   "EXPORT_SIGNING_KEY": "e" * 32}
    with pytest.raises(ConfigurationError, match="DATA_ENCRYPTION_KEY"):
        from_environment(environment)
    key = crypto.development_key("anything").decode()
    assert from_environment({**environment, "DATA_ENCRYPTION_KEY": key})[
        "DATA_ENCRYPTION_KEY"] == key
    with pytest.raises(ConfigurationError, match="DATA_ENCRYPTION_KEY"):
        crypto.check_configuration({"CIVIC_ENV": "production", "SECRET_KEY": "s"})
    with pytest.raises(ConfigurationError, match="32 bytes"):
        crypto.check_configuration({"CIVIC_ENV": "test", "SECRET_KEY": "s",
                                    "DATA_ENCRYPTION_KEY": "too-short"})
    crypto.check_configuration({"CIVIC_ENV": "test", "SECRET_KEY": "s"})  # derived


def test_the_migration_moves_a_chinese_name_to_its_column_and_back(app_context):
    """Tenant revision 8d1f4b6e2a70 on providers added before it: a name with a Han character
    is the Chinese one, any other stays English; the downgrade puts one name back."""
    with tenant_schema_at("city_names", "4c8d2e6f1a93") as (connection, config):
        connection.exec_driver_sql(
            "INSERT INTO oidc_providers (key, display_name, issuer, client_id,"
            " client_secret_encrypted) VALUES ('a', '浙里办', 'https://a', 'c', 's'),"
            " ('b', 'Gov ID', 'https://b', 'c', 's')")
        command.upgrade(config, "8d1f4b6e2a70")
        names = connection.exec_driver_sql(
            "SELECT display_name_zh, display_name FROM oidc_providers ORDER BY key").all()
        command.downgrade(config, "4c8d2e6f1a93")
        merged = connection.exec_driver_sql(
            "SELECT display_name FROM oidc_providers ORDER BY key").all()
    assert names == [("浙里办", ""), ("", "Gov ID")]
    assert merged == [("浙里办",), ("Gov ID",)]
