"""The city's OAuth 2 clients, authorization codes and tokens, in its own schema: a token is
found only in the schema of the city that issued it, and names that city too. Secrets, codes
and tokens are stored as SHA-256 digests (they are long random strings, so a fast digest is
enough): what the database holds can't be replayed."""
import hashlib
import hmac
import time
from datetime import datetime

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from tenants.db import db

PUBLIC, CONFIDENTIAL, SERVICE = "public", "confidential", "service"
KINDS = (PUBLIC, CONFIDENTIAL, SERVICE)
AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS = (
    "authorization_code", "refresh_token", "client_credentials")
GRANT_TYPES = {PUBLIC: (AUTHORIZATION_CODE, REFRESH_TOKEN),
               CONFIDENTIAL: (AUTHORIZATION_CODE, REFRESH_TOKEN),
               SERVICE: (CLIENT_CREDENTIALS,)}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _id() -> Mapped[int]:
    return mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)


class OAuthClient(ClientMixin, db.Model):
    """An app registered by the city's administrators: public (a mobile app or mini-program,
    no secret, PKCE), confidential (a web server with a secret) or service (a back office,
    client credentials only)."""

    __tablename__ = "oauth_clients"
    __table_args__ = (sa.CheckConstraint(f"kind IN {KINDS}", name="kind"),
                      sa.CheckConstraint("(kind = 'public') = (secret_hash IS NULL)",
                                         name="secret_of_kind"))

    id: Mapped[int] = _id()
    client_id: Mapped[str] = mapped_column(sa.String(48), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(12))
    redirect_uris: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    scope: Mapped[str] = mapped_column(sa.Text)  # what it may ask for, space-separated
    created_by: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope or "") if s in allowed])

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact match, RFC 9700 section 4.1.3

    def check_client_secret(self, client_secret):
        return self.secret_hash is not None and hmac.compare_digest(
            self.secret_hash, digest(client_secret or ""))

    def check_endpoint_auth_method(self, method, endpoint):
        if self.kind == PUBLIC:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code" and AUTHORIZATION_CODE in GRANT_TYPES[self.kind]

    def check_grant_type(self, grant_type):
        return grant_type in GRANT_TYPES[self.kind]


class OAuthAuthorizationCode(AuthorizationCodeMixin, db.Model):
    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = _id()
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.Text)
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str] = mapped_column(sa.String(10))
    # Staff scopes were granted by a staff member who had passed the console's second factor.
    second_factor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    issued_at: Mapped[int] = mapped_column(sa.BigInteger)  # epoch seconds

    client: Mapped[OAuthClient] = relationship()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self, lifetime: int = 300) -> bool:
        return time.time() > self.issued_at + lifetime


class OAuthToken(TokenMixin, db.Model):
    """An access token (and maybe its refresh token). `city` names the city that issued it;
    `family` is shared by every token refreshed from the same grant, so a refresh token used
    twice revokes them all (RFC 9700 section 4.14.2)."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (sa.Index("ix_oauth_tokens_family", "family"),)

    id: Mapped[int] = _id()
    city: Mapped[str] = mapped_column(sa.String(63))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    access_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    family: Mapped[str] = mapped_column(sa.String(32))
    scope: Mapped[str] = mapped_column(sa.Text)
    second_factor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    issued_at: Mapped[int] = mapped_column(sa.BigInteger)
    expires_in: Mapped[int] = mapped_column(sa.Integer)
    refresh_expires_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    refreshed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    client: Mapped[OAuthClient] = relationship()

    def check_client(self, client):
        return self.client_id == client.id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked_at is not None

    def get_user(self):
        return db.session.get(User, self.user_id) if self.user_id else None

    def get_client(self):
        return self.client
