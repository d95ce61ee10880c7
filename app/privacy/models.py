from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import db


class PrivacyNotice(db.Model):
    """One published version of the city's privacy notice, in both languages. Rows are only
    added: a citizen's consent names a version, so its text must stay as it was."""

    __tablename__ = "privacy_notices"
    # Version 1 is the standard notice, which is not stored; a city's own start at 2.
    __table_args__ = (sa.CheckConstraint("version >= 2", name="version"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, unique=True)
    body_zh: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    published_by: Mapped[str] = mapped_column(sa.String(300))
