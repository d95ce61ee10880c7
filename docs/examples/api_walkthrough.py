"""docs/api.md's walkthrough against `make run`'s demo city Lishui: register a public app,
sign a citizen in with PKCE (you approve the consent page in your browser), then read the
citizen's profile and messages with the token, refresh it and revoke it.

Run from the repository root while `make run` serves:
    PYTHONPATH=. .venv/bin/python docs/examples/api_walkthrough.py
"""
import base64
import hashlib
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

BASE = "http://lishui.localhost:5000"
REDIRECT_URI = "com.example.cityapp:/callback"


def register_app() -> str:
    """What a city administrator does; here in the city directly (console page: not yet)."""
    from app import create_app
    from app.oauth.clients import register_client
    from tenants.context import tenant_context
    from tenants.db import db

    with tenant_context("lishui", create_app()):
        client, _secret = register_client(
            "Walkthrough app", "public", [REDIRECT_URI],
            ["profile:read", "notifications:read"], "user:0:walkthrough")
        db.session.commit()
        return client.client_id


def main() -> int:
    client_id = register_app()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(8)
    print("1. Sign in to Lishui in your browser, then open and allow:")
    print(f"   {BASE}/api/v1/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "profile:read notifications:read", "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    answer = input("2. Paste the address the browser was sent to (com.example.cityapp:/…): ")
    query = parse_qs(urlsplit(answer.strip()).query)
    if query.get("state") != [state] or "code" not in query:
        print(f"refused or tampered with: {query}", file=sys.stderr)
        return 1
    token = requests.post(f"{BASE}/api/v1/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "redirect_uri": REDIRECT_URI, "client_id": client_id, "code_verifier": verifier},
        timeout=10).json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept-Language": "en"}
    print("3. Profile:", requests.get(f"{BASE}/api/v1/me", headers=headers, timeout=10).json())
    messages = requests.get(f"{BASE}/api/v1/me/notifications?page_size=5", headers=headers,
                            timeout=10)
    print("4. Messages:", len(messages.json()), "of", messages.headers["X-Total-Count"],
          "| Link:", messages.headers["Link"])
    fresh = requests.post(f"{BASE}/api/v1/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": client_id}, timeout=10).json()
    print("5. Refreshed; new refresh token:", fresh["refresh_token"] != token["refresh_token"])
    requests.post(f"{BASE}/api/v1/oauth/revoke", data={
        "token": fresh["refresh_token"], "client_id": client_id}, timeout=10)
    gone = requests.get(f"{BASE}/api/v1/me", timeout=10, headers={
        "Authorization": f"Bearer {fresh['access_token']}"})
    print("6. After revocation:", gone.status_code, gone.json()["title"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
