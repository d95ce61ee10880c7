"""The city's OAuth 2 server end to end, through its HTTP endpoints."""
from app.oauth.models import OAuthToken
from tests.support.accounts import add_staff, sign_in_to_admin, signed_in_citizen
from tests.support.cities import audit_entries, host
from tests.support.oauth import (
    add_client,
    approve,
    authorize_path,
    bearer,
    citizen_token,
    exchange,
    pkce_pair,
)


def test_pkce_flow_gives_a_token_that_reads_the_profile(app, cities, client):
    alpha = cities["alpha"]
    client_id, secret = add_client(app, alpha)
    assert secret is None  # a public client: no secret, PKCE
    user_id = signed_in_citizen(app, client, alpha, "pkce@example.com")
    token = citizen_token(app, client, alpha, client_id)
    assert token["token_type"] == "Bearer" and token["scope"] == "profile:read"
    assert "refresh_token" in token
    api = app.test_client()  # no cookie: the token alone
    profile = api.get("/api/v1/me", headers=bearer(alpha, token["access_token"]))
    assert profile.status_code == 200
    assert profile.get_json()["id"] == user_id
    issued = audit_entries(app, alpha, "oauth.token_issued")
    assert issued[-1].actor.startswith(f"user:{user_id}:")
    assert issued[-1].after["grant_type"] == "authorization_code"


def test_wrong_verifier_and_reused_code_are_refused(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha)
    signed_in_citizen(app, client, alpha, "verifier@example.com")
    verifier, challenge = pkce_pair()
    code = approve(client, alpha, client_id, "profile:read", challenge)
    wrong = exchange(client, alpha, client_id, code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    assert exchange(client, alpha, client_id, code, verifier).status_code == 200
    again = exchange(client, alpha, client_id, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_authorization_without_s256_challenge_is_refused(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha)
    signed_in_citizen(app, client, alpha, "plain@example.com")
    path = authorize_path(client_id, "profile:read", "x" * 43).replace("S256", "plain")
    page = client.get(path, headers=host(alpha))
    assert page.status_code == 400
    assert "S256" in page.get_data(as_text=True)


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha)
    signed_in_citizen(app, client, alpha, "rotate@example.com")
    first = citizen_token(app, client, alpha, client_id)

    def refresh(refresh_token):
        return client.post("/api/v1/oauth/token", headers=host(alpha), data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": client_id})

    second = refresh(first["refresh_token"])
    assert second.status_code == 200, second.get_data(as_text=True)
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(alpha, first["access_token"])).status_code == 401
    assert api.get("/api/v1/me", headers=bearer(alpha, second["access_token"])).status_code == 200
    # The first refresh token again: someone holds a copy; the whole family goes.
    reused = refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    assert api.get("/api/v1/me", headers=bearer(alpha, second["access_token"])).status_code == 401
    assert refresh(second["refresh_token"]).status_code == 400
    assert audit_entries(app, alpha, "oauth.refresh_token_reused")


def test_revoking_a_token(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha)
    signed_in_citizen(app, client, alpha, "revoke@example.com")
    token = citizen_token(app, client, alpha, client_id)
    response = client.post("/api/v1/oauth/revoke", headers=host(alpha), data={
        "token": token["refresh_token"], "token_type_hint": "refresh_token",
        "client_id": client_id})
    assert response.status_code == 200
    answer = app.test_client().get("/api/v1/me", headers=bearer(alpha, token["access_token"]))
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"
    assert audit_entries(app, alpha, "oauth.token_revoked")


def test_client_credentials_for_a_back_office(app, cities):
    alpha = cities["alpha"]
    client_id, secret = add_client(app, alpha, kind="service", scopes=("staff:read",), uris=())
    api = app.test_client()
    wrong = api.post("/api/v1/oauth/token", headers=host(alpha), auth=(client_id, "nope"),
                     data={"grant_type": "client_credentials", "scope": "staff:read"})
    assert wrong.status_code == 401
    response = api.post("/api/v1/oauth/token", headers=host(alpha), auth=(client_id, secret),
                        data={"grant_type": "client_credentials", "scope": "staff:read"})
    assert response.status_code == 200, response.get_data(as_text=True)
    token = response.get_json()
    assert token["scope"] == "staff:read" and "refresh_token" not in token
    # Not a citizen: a staff token can't read a profile.
    assert api.get("/api/v1/me", headers=bearer(alpha, token["access_token"])).status_code == 403
    issued = audit_entries(app, alpha, "oauth.token_issued")[-1]
    assert issued.actor == f"oauth-client:{client_id}"


def test_a_token_of_one_city_is_worthless_on_another(app, cities, client):
    alpha, beta = cities["alpha"], cities["beta"]
    client_id, _ = add_client(app, alpha)
    signed_in_citizen(app, client, alpha, "travel@example.com")
    token = citizen_token(app, client, alpha, client_id)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(alpha, token["access_token"])).status_code == 200
    answer = api.get("/api/v1/me", headers=bearer(beta, token["access_token"]))
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["status"] == 401
    refresh = api.post("/api/v1/oauth/token", headers=host(beta), data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": client_id})
    assert refresh.status_code in (400, 401)


def test_staff_scopes_need_the_console_second_factor(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha, scopes=("staff:read", "profile:read"))
    member = add_staff(app, alpha, "staff-token@example.com", role="viewer")
    # Signed in with the password only (the console's first step), not the second factor.
    assert sign_in_to_admin(client, alpha, member["email"]).status_code == 302
    verifier, challenge = pkce_pair()
    page = client.get(authorize_path(client_id, "staff:read", challenge), headers=host(alpha))
    assert page.status_code == 302
    assert "/admin/2fa" in page.headers["Location"]


def test_a_citizen_cannot_grant_staff_scopes(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha, scopes=("staff:read",))
    signed_in_citizen(app, client, alpha, "not-staff@example.com")
    page = client.get(authorize_path(client_id, "staff:read", pkce_pair()[1]),
                      headers=host(alpha))
    assert page.status_code == 400
    assert OAuthToken.__tablename__ == "oauth_tokens"
