"""A small, real OpenID Connect provider for the tests, built on Authlib's authorization server.

    python tests/support/oidc_provider.py --port 8900 --client-id civic --client-secret s3cret \
        --redirect-uri-prefix http://alpha.test/ [--redirect-uri-prefix http://beta.test/ …]

Its issuer is http://127.0.0.1:PORT. It serves the discovery document, its JWKS (an RS256 key
made at start), the authorization endpoint, the token endpoint (client_secret_basic or _post)
and userinfo. Everything is kept in memory.

The authorization endpoint approves at once, for the user named by `login_hint` (a key of the
user table, see /testing/users); `login_hint=!deny` answers `access_denied`. It insists on what
the app must do: a `nonce`, and PKCE with S256 (`code_challenge` required for every client, the
`code_verifier` checked at the token endpoint).

Testing endpoints (loopback only, no authentication):
  POST /testing/users   JSON {key, sub, email?, email_verified?, name?, email_in_id_token?,
                        id_token_claims? (replace claims of the ID token: nonce, aud, iss…),
                        forge_signature? (sign the ID token with another key, same kid)}
  GET  /testing/log     what the provider saw: authorization requests and token requests
"""
import argparse
import secrets
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey

KID = "test-key-1"


class Client:
    """One confidential client (ClientMixin's duck type)."""

    def __init__(self, client_id, client_secret, redirect_uri_prefixes):
        self.client_id, self.client_secret = client_id, client_secret
        self.prefixes = tuple(redirect_uri_prefixes)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = {"openid", "email", "profile"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri.startswith(self.prefixes)

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint != "token" or method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class AuthorizationCode:
    def __init__(self, code, client_id, redirect_uri, scope, user, nonce, challenge, method):
        self.code, self.client_id, self.scope = code, client_id, scope
        self.redirect_uri = redirect_uri
        self.user, self.nonce, self.auth_time = user, nonce, int(time.time())
        self.code_challenge, self.code_challenge_method = challenge, method
        self.expires_at = time.time() + 300

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.users: dict[str, dict] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, tuple[dict, str]] = {}
        self.nonces: set[str] = set()
        self.log: dict[str, list] = {"authorizations": [], "tokens": []}


def create_provider(port: int, client: Client) -> Flask:
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"})
    # Signs the ID token of users with `forge_signature`, under the same kid: a forgery.
    stranger = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"})
    signing = threading.local()
    store = Store()
    app = Flask("test_oidc_provider")

    class RequiredS256(CodeChallenge):
        """PKCE for every client, confidential ones too, and only with S256."""

        SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

        def validate_code_challenge(self, grant, redirect_uri):
            data = grant.request.payload.data
            if not data.get("code_challenge"):
                raise InvalidRequestError("Missing 'code_challenge': PKCE is required")
            if data.get("code_challenge_method") != "S256":
                raise InvalidRequestError("'code_challenge_method' must be S256")
            super().validate_code_challenge(grant, redirect_uri)

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, req):
            data = req.payload.data
            item = AuthorizationCode(code, req.client.client_id, req.payload.redirect_uri,
                                     req.scope, req.user, data.get("nonce"),
                                     data.get("code_challenge"), data.get("code_challenge_method"))
            with store.lock:
                store.codes[code] = item
                if item.nonce:
                    store.nonces.add(item.nonce)
                store.log["authorizations"].append({
                    "user": req.user["key"], "scope": req.scope, "nonce": item.nonce,
                    "redirect_uri": item.redirect_uri, "code_challenge": item.code_challenge,
                    "code_challenge_method": item.code_challenge_method,
                })

        def query_authorization_code(self, code, client):
            item = store.codes.get(code)
            if item and item.client_id == client.client_id and item.expires_at > time.time():
                return item
            return None

        def delete_authorization_code(self, authorization_code):
            store.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    def user_claims(user: dict, scope: str, *, for_id_token: bool) -> dict:
        claims = {"sub": user["sub"]}
        scopes = (scope or "").split()
        if "profile" in scopes and user.get("name"):
            claims["name"] = user["name"]
        if "email" in scopes and user.get("email") and (
                not for_id_token or user.get("email_in_id_token", True)):
            claims["email"] = user["email"]
            claims["email_verified"] = bool(user.get("email_verified"))
        return claims

    class OpenIDConnect(OpenIDCode):
        def exists_nonce(self, nonce, req):
            return nonce in store.nonces

        def encode_id_token(self, token, req):
            signing.forged = bool(req.user.get("forge_signature"))
            return super().encode_id_token(token, req)

        def resolve_client_private_key(self, client):
            return stranger if signing.forged else key

        def get_client_algorithm(self, client):
            return "RS256"

        def get_encode_header(self, client):
            return {"alg": "RS256", "kid": KID}

        def get_client_claims(self, client):
            return {"iss": issuer, "aud": [client.get_client_id()]}

        def generate_user_info(self, user, scope):
            # Merged last into the ID token: `id_token_claims` can break it on purpose.
            claims = user_claims(user, scope, for_id_token=True)
            return UserInfo({**claims, **user.get("id_token_claims", {})})

    def save_token(token, req):
        with store.lock:
            store.tokens[token["access_token"]] = (req.user, token.get("scope", ""))
            store.log["tokens"].append({
                "user": req.user["key"],
                "code_verifier": bool(req.form.get("code_verifier")),
            })

    server = AuthorizationServer(app, query_client=lambda cid: client if cid == client.client_id
                                 else None, save_token=save_token)
    server.register_grant(CodeGrant, [OpenIDConnect(require_nonce=True), RequiredS256()])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify({
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "email", "email_verified"],
        })

    @app.get("/jwks")
    def jwks():
        return jsonify(KeySet([key]).as_dict(private=False))

    @app.get("/authorize")
    def authorize():
        hint = request.args.get("login_hint", "")
        user = None if hint == "!deny" else store.users.get(hint)
        try:
            grant = server.get_consent_grant(end_user=user)
        except Exception as error:  # an invalid request: an error redirect, or a plain page
            if getattr(error, "redirect_uri", None):
                return server.handle_error_response(None, error)
            return f"invalid authorization request: {error}", 400
        return server.create_authorization_response(grant_user=user, grant=grant)

    @app.post("/token")
    def token():
        return server.create_token_response()

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        header = request.headers.get("Authorization", "")
        found = store.tokens.get(header.removeprefix("Bearer ").strip())
        if not header.startswith("Bearer ") or found is None:
            return jsonify(error="invalid_token"), 401
        user, scope = found
        return jsonify(user_claims(user, scope, for_id_token=False))

    @app.post("/testing/users")
    def add_user():
        user = request.get_json()
        with store.lock:
            store.users[user["key"]] = user
        return jsonify(ok=True)

    @app.get("/testing/log")
    def read_log():
        with store.lock:
            return jsonify(store.log)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri-prefix", action="append", required=True)
    args = parser.parse_args()
    client = Client(args.client_id, args.client_secret, args.redirect_uri_prefix)
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", args.port, create_provider(args.port, client),
                         threaded=True)
    print(f"listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
