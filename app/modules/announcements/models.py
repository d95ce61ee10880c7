from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.web.bilingual import bilingual
from tenants.db import db


class Announcement(db.Model):
    """A notice of the city in both languages; published from `published_at` (a draft while
    it is unset or in the future). One pinned announcement is the site's banner."""

    __tablename__ = "announcements"
    __table_args__ = (
        sa.Index("ix_announcements_published", "published_at",
                 postgresql_where=sa.text("published_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    title_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    body: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    body_zh: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    pinned: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())

    title_for = bilingual("title")
    body_for = bilingual("body")

    @classmethod
    def published(cls):
        return sa.select(cls).where(cls.published_at <= sa.func.now()).order_by(
            cls.published_at.desc(), cls.id.desc())
