"""The platform schema: what belongs to the vendor, not to any one city."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.db import PLATFORM_SCHEMA, db

# A city's status, the only place they are listed. active: it serves; suspended: its sites
# answer 503; retired: it has disappeared (its sites answer 404, jobs and commands refuse it)
# but its schema, role and rows are kept until purge_after, and it can be restored until then.
ACTIVE, SUSPENDED, RETIRED = "active", "suspended", "retired"
TENANT_STATUSES = (ACTIVE, SUSPENDED, RETIRED)
LOCALES = ("zh_Hans", "en")


class Tenant(db.Model):
    __tablename__ = "tenants"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {TENANT_STATUSES}", name="status"),
        sa.CheckConstraint(f"locale IN {LOCALES}", name="locale"),
        # retired_at and purge_after are set exactly when the city is retired
        sa.CheckConstraint(
            f"CASE WHEN status = '{RETIRED}' "
            "THEN retired_at IS NOT NULL AND purge_after >= retired_at "
            "ELSE retired_at IS NULL AND purge_after IS NULL END",
            name="retirement",
        ),
        {"schema": PLATFORM_SCHEMA},
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default=ACTIVE, server_default=ACTIVE)
    schema_name: Mapped[str] = mapped_column(sa.String(63), unique=True)
    db_role: Mapped[str] = mapped_column(sa.String(63), unique=True)
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_Hans", server_default="zh_Hans")
    timezone: Mapped[str] = mapped_column(
        sa.String(64), default="Asia/Shanghai", server_default="Asia/Shanghai"
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
    retired_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    purge_after: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    domains: Mapped[list["TenantDomain"]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.id"
    )


class TenantDomain(db.Model):
    __tablename__ = "tenant_domains"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    host: Mapped[str] = mapped_column(sa.String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class DirectoryState(db.Model):
    """One row whose version a trigger bumps on every change to tenants or their domains, in
    the same transaction: each process polls it to know when to reload its directory."""

    __tablename__ = "directory_state"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),
                      {"schema": PLATFORM_SCHEMA})

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class PlatformAuditEntry(db.Model):
    """Every vendor action (CLI today, the platform console later). Rows are only ever added."""

    __tablename__ = "audit_log"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(64))
    tenant_slug: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
