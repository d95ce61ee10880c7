"""OAuth clients registered in a city as its console does, and tokens obtained as an app
does: a citizen signed in on the city's site approves the consent page, the app exchanges the
code with its PKCE verifier."""
import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from app.oauth.clients import register_client
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.cities import host

REDIRECT_URI = "com.example.cityapp:/callback"


def add_client(app, tenant, kind="public", scopes=("profile:read",), uris=(REDIRECT_URI,)):
    """A registered client: (client_id, secret or None)."""
    with tenant_context(tenant, app):
        client, secret = register_client("City app", kind, list(uris), list(scopes),
                                         "user:0:test")
        db.session.commit()
        return client.client_id, secret


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_path(client_id, scope, challenge, state="xyz") -> str:
    return "/api/v1/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": scope, "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})


def approve(client, tenant, client_id, scope, challenge) -> str:
    """The signed-in `client` approves the consent page; returns the code."""
    path = authorize_path(client_id, scope, challenge)
    page = client.get(path, headers=host(tenant))
    assert page.status_code == 200, page.get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": form_token(page), "allow": "1"},
                         headers=host(tenant))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def exchange(client, tenant, client_id, code, verifier):
    return client.post("/api/v1/oauth/token", headers=host(tenant), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": client_id, "code_verifier": verifier})


def citizen_token(app, client, tenant, client_id, scope="profile:read") -> dict:
    """A token of the citizen signed in with `client`, through the whole PKCE flow."""
    verifier, challenge = pkce_pair()
    code = approve(client, tenant, client_id, scope, challenge)
    response = exchange(client, tenant, client_id, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def bearer(tenant, token: str, **headers) -> dict:
    return {**host(tenant), "Authorization": f"Bearer {token}", **headers}


def service_token(app, tenant, scopes=("staff:read", "staff:work")) -> str:
    """An access token of a back office (a service client, client credentials)."""
    client_id, secret = add_client(app, tenant, kind="service", scopes=scopes, uris=())
    response = app.test_client().post("/api/v1/oauth/token", headers=host(tenant), auth=(
        client_id, secret), data={"grant_type": "client_credentials", "scope": " ".join(scopes)})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def staff_token(app, client, tenant, scope="staff:read staff:work") -> str:
    """An access token of the staff member signed in to the console (second factor passed)
    with `client`, approved on the consent page."""
    client_id, _secret = add_client(app, tenant, scopes=tuple(scope.split()))
    return citizen_token(app, client, tenant, client_id, scope)["access_token"]
