from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.web.bilingual import bilingual
from tenants.db import db

DEFAULT_SCOPES = "openid email profile"


class OidcProvider(db.Model):
    """An OpenID Connect provider the city lets its citizens sign in with (its own identity
    service, the province's government ID…). Set with `flask tenants oidc add`. The client
    secret is stored encrypted (app/crypto.py); its key is in configuration, not here."""

    __tablename__ = "oidc_providers"
    __table_args__ = (
        sa.CheckConstraint("key ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'", name="key_format"),
        sa.CheckConstraint("display_name <> '' OR display_name_zh <> ''", name="display_name"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    # In the URLs: /account/login/oidc/<key>
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    issuer: Mapped[str] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[str] = mapped_column(
        sa.String(200), default=DEFAULT_SCOPES, server_default=DEFAULT_SCOPES
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    # The name in Chinese beside display_name in English: at least one of the two.
    display_name_zh: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")

    display_name_for = bilingual("display_name")


class UserIdentity(db.Model):
    """An account's identity at one provider: the provider's subject (`sub`) is what signs the
    account in again, whatever the email address says later."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("provider_id", "subject"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("oidc_providers.id"))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # What the provider last said the address was (verified or not): for people, not sign-in.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
