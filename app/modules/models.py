from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import db


class CityModule(db.Model):
    """Whether the city offers a module, and its settings for it (validated by the module's
    schema before they are stored)."""

    __tablename__ = "modules"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())
