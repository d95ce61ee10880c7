from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import db

DEFAULT_PRIMARY_COLOR = "#1f4e8c"
DEFAULT_ACCENT_COLOR = "#b8860b"
HEX_COLOR = r"^#[0-9a-f]{6}$"


class Branding(db.Model):
    """How the city's site looks. One row; a city without one shows the defaults."""

    __tablename__ = "branding"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(f"primary_color ~ '{HEX_COLOR}'", name="primary_color"),
        sa.CheckConstraint(f"accent_color ~ '{HEX_COLOR}'", name="accent_color"),
    )

    id: Mapped[int] = mapped_column(
        sa.SmallInteger, primary_key=True, autoincrement=False, default=1
    )
    primary_color: Mapped[str] = mapped_column(
        sa.String(7), default=DEFAULT_PRIMARY_COLOR, server_default=DEFAULT_PRIMARY_COLOR
    )
    accent_color: Mapped[str] = mapped_column(
        sa.String(7), default=DEFAULT_ACCENT_COLOR, server_default=DEFAULT_ACCENT_COLOR
    )
    tagline: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    tagline_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )

    @classmethod
    def current(cls) -> "Branding":
        return db.session.get(cls, 1) or cls(
            id=1, primary_color=DEFAULT_PRIMARY_COLOR, accent_color=DEFAULT_ACCENT_COLOR,
            tagline="", tagline_zh="",
        )

    def tagline_for(self, locale) -> str:
        return self.tagline_zh if str(locale).startswith("zh") else self.tagline
