import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

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

    def password_fingerprint(self) -> str:
        """Changes whenever the password does: part of the session id and of reset links."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: a password change ends other sessions."""
        return f"{self.id}.{self.password_fingerprint()}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def name(self) -> str:
        return self.display_name or self.email or self.mobile or ""
