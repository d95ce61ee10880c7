import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import db


class User(UserMixin, db.Model):
    """A citizen's (later also a staff member's) account in one city: a Lishui account does
    not exist in Beijing. Signed in with email or mobile number and a password, or through
    one of the city's OpenID Connect providers (then password, email and mobile may be unset:
    the registration form, not the table, requires an email address or a mobile number)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    email_verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(  # indexed: the dashboard counts per day
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    mobile_verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The version of the city's privacy notice accepted at registration (app/privacy), and
    # when; unset for accounts made before consent was asked for, or through a sign-in provider.
    privacy_version: Mapped[int | None] = mapped_column(sa.Integer)
    privacy_accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # When its citizen closed it (app/citizen/closing.py): inactive, its contact data removed.
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    def password_fingerprint(self) -> str:
        """Changes whenever the password does: part of reset links, so each works once."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def name(self) -> str:
        return self.display_name or self.email or self.mobile or ""


class AccountSession(db.Model):
    """One sign-in of an account on one browser (app/accounts/sessions.py): the cookie carries
    a random token, this row its SHA-256. Deleting the row signs that browser out."""

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    # When this sign-in passed the console's second factor (None: not yet, or not staff).
    second_factor_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # A support session (app/impersonation.py): the vendor staff member, and when it ends.
    impersonator: Mapped[str | None] = mapped_column(sa.String(300))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class OneTimeCode(db.Model):
    """A code sent by SMS to verify a mobile number or reset a password: six digits, kept as an
    HMAC (app/accounts/codes.py), valid CODE_MINUTES, used once, a few tries each."""

    __tablename__ = "one_time_codes"
    __table_args__ = (sa.Index("ix_one_time_codes_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(20))
    mobile: Mapped[str] = mapped_column(sa.String(20))  # the number it was sent to
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
