from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.web.bilingual import bilingual
from tenants.db import db

DEFAULT_PRIMARY_COLOR = "#1f4e8c"
DEFAULT_ACCENT_COLOR = "#f2b632"
HEX_COLOR = r"^#[0-9a-f]{6}$"
# CSS patterns of the home page's hero when the city has no hero image (app/static/css/site.css).
HERO_PATTERNS = ("dots", "grid", "diagonal", "waves", "hills")
DEFAULT_HERO_PATTERN = "dots"
# Languages a city may offer (the ones the app ships; tenants.models.LOCALES).
OFFERED_LANGUAGES = ("zh_Hans", "en")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Branding(db.Model):
    """How the city's site looks and whom to contact. One row; a city without one shows the
    defaults. Uploaded images live on disk (app.branding.upload_dir); the row keeps their file
    name, content type and a hash of their content (part of their URL, so they cache safely)."""

    __tablename__ = "branding"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(f"primary_color ~ '{HEX_COLOR}'", name="primary_color"),
        sa.CheckConstraint(f"accent_color ~ '{HEX_COLOR}'", name="accent_color"),
        sa.CheckConstraint(_in("hero_pattern", HERO_PATTERNS), name="hero_pattern"),
        sa.CheckConstraint(
            "cardinality(languages) > 0 AND languages <@ "
            f"CAST(ARRAY[{', '.join(repr(v) for v in OFFERED_LANGUAGES)}] AS VARCHAR(10)[])",
            name="languages"),
        sa.CheckConstraint(
            f"logo_file IS NULL OR ({_in('logo_content_type', IMAGE_TYPES)} "
            "AND logo_hash IS NOT NULL)", name="logo"),
        sa.CheckConstraint(
            f"hero_file IS NULL OR ({_in('hero_content_type', IMAGE_TYPES)} "
            "AND hero_hash IS NOT NULL)", name="hero"),
        sa.CheckConstraint(
            f"favicon_file IS NULL OR ({_in('favicon_content_type', IMAGE_TYPES)} "
            "AND favicon_hash IS NOT NULL)", name="favicon"),
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
    # Columns added later come after the first ones, in the order migrations add them, so that
    # a provisioned city and a migrated one have the same column order.
    logo_file: Mapped[str | None] = mapped_column(sa.String(100))
    logo_content_type: Mapped[str | None] = mapped_column(sa.String(40))
    logo_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hero_file: Mapped[str | None] = mapped_column(sa.String(100))
    hero_content_type: Mapped[str | None] = mapped_column(sa.String(40))
    hero_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hero_pattern: Mapped[str] = mapped_column(
        sa.String(20), default=DEFAULT_HERO_PATTERN, server_default=DEFAULT_HERO_PATTERN
    )
    contact_address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    contact_address_zh: Mapped[str] = mapped_column(
        sa.String(300), default="", server_default=""
    )
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    opening_hours: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    opening_hours_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    languages: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(10)), default=lambda: list(OFFERED_LANGUAGES),
        server_default=sa.text("'{zh_Hans,en}'"),
    )
    # The browser tab's icon; without one, the logo or the city's initial serves.
    favicon_file: Mapped[str | None] = mapped_column(sa.String(100))
    favicon_content_type: Mapped[str | None] = mapped_column(sa.String(40))
    favicon_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # The site's ICP filing number (ICP备案号), which Chinese law wants in the footer.
    icp_filing: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")

    @classmethod
    def defaults(cls) -> "Branding":
        """A new city's look (not added to any session)."""
        return cls(
            id=1, primary_color=DEFAULT_PRIMARY_COLOR, accent_color=DEFAULT_ACCENT_COLOR,
            tagline="", tagline_zh="", hero_pattern=DEFAULT_HERO_PATTERN,
            contact_address="", contact_address_zh="", contact_phone="", contact_email="",
            opening_hours="", opening_hours_zh="", languages=list(OFFERED_LANGUAGES),
            icp_filing="",
        )

    @classmethod
    def current(cls) -> "Branding":
        return db.session.get(cls, 1) or cls.defaults()

    tagline_for = bilingual("tagline")
    address_for = bilingual("contact_address")
    opening_hours_for = bilingual("opening_hours")

    @property
    def phone_uri(self) -> str:
        """tel: link of the contact phone (digits and a leading +)."""
        phone = self.contact_phone or ""
        return "tel:" + ("+" if phone.strip().startswith("+") else "") + "".join(
            c for c in phone if c.isdigit())

    @property
    def has_contact(self) -> bool:
        return any((self.contact_address, self.contact_address_zh, self.contact_phone,
                    self.contact_email, self.opening_hours, self.opening_hours_zh))


