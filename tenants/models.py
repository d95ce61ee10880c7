"""The platform schema: what belongs to the vendor, not to any one city."""
import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    # The plan's key (platform.plans), None: not limited by a plan.
    plan: Mapped[str | None] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.plans.key", ondelete="RESTRICT"), index=True)
    # Maintenance: the city's sites are read-only (citizens look, can't submit), with a banner.
    maintenance: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

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


# -- plans, vendor staff, impersonation (the platform console, app/platform/) -------------------

class Plan(db.Model):
    """What a city may use: the modules a city admin may enable, and limits (staff_seats: how
    many active staff members and open invitations; None means no limit). A city without a
    plan (tenants.plan NULL) is not limited."""

    __tablename__ = "plans"
    __table_args__ = (sa.CheckConstraint("staff_seats IS NULL OR staff_seats >= 1",
                                         name="staff_seats"),
                      {"schema": PLATFORM_SCHEMA})

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    modules: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)), default=list,
                                               server_default="{}")
    staff_seats: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())

    def snapshot(self) -> dict:
        return {"key": self.key, "name": self.name, "name_zh": self.name_zh,
                "modules": sorted(self.modules or []), "staff_seats": self.staff_seats}


PLATFORM_ADMIN, PLATFORM_SUPPORT = "admin", "support"
PLATFORM_ROLES = (PLATFORM_ADMIN, PLATFORM_SUPPORT)


class PlatformStaff(db.Model):
    """A vendor staff account of the platform console: admin (everything) or support (reads,
    and impersonation). A password (Argon2) and a TOTP second factor, both required."""

    __tablename__ = "staff"
    __table_args__ = (sa.CheckConstraint(f"role IN {PLATFORM_ROLES}", name="role"),
                      {"schema": PLATFORM_SCHEMA})

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))  # None until set
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    totp_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)  # app.crypto token
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    def password_fingerprint(self) -> str:
        """Changes with the password: a set-password link works while it is unchanged."""
        fingerprint = hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]
        return f"{self.id}.{fingerprint}"


class PlatformSession(db.Model):
    """One sign-in of a vendor staff member on one browser: the cookie carries a random token,
    this row its SHA-256 (app/accounts/sessions.py). Deleting the row signs that browser out."""

    __tablename__ = "staff_sessions"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    second_factor_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    staff: Mapped[PlatformStaff] = relationship(lazy="joined")


class PlatformRecoveryCode(db.Model):
    """A single-use stand-in for a vendor staff member's TOTP code (its SHA-256 only)."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Impersonation(db.Model):
    """A vendor staff member's entry into a city's console as one of its staff: made when the
    signed link is issued, used (used_at) when the city host exchanges it, once."""

    __tablename__ = "impersonations"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.staff.id", ondelete="CASCADE"), index=True)
    tenant_slug: Mapped[str] = mapped_column(sa.String(40))
    city_staff_id: Mapped[int] = mapped_column(sa.BigInteger)  # a staff_members.id of the city
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


# -- exports and fleet migrations (app/platform/exports.py, app/platform/fleet_migrations.py) ---

EXPORT_QUEUED, EXPORT_RUNNING, EXPORT_DONE, EXPORT_FAILED = "queued", "running", "done", "failed"
EXPORT_EXPIRED = "expired"  # its archive was deleted after EXPORT_RETENTION_DAYS
EXPORT_STATUSES = (EXPORT_QUEUED, EXPORT_RUNNING, EXPORT_DONE, EXPORT_FAILED, EXPORT_EXPIRED)


class CityExport(db.Model):
    """An export of a city asked for in the console, made by a job (tenants/export.py) into
    instance/exports/; platform administrators download it from there until the archive is
    deleted, EXPORT_RETENTION_DAYS after it was made (status "expired")."""

    __tablename__ = "city_exports"
    __table_args__ = (sa.CheckConstraint(f"status IN {EXPORT_STATUSES}", name="status"),
                      {"schema": PLATFORM_SCHEMA})

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    tenant_slug: Mapped[str] = mapped_column(sa.String(40), index=True)
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default=EXPORT_QUEUED,
                                        server_default=EXPORT_QUEUED)
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    schema_version: Mapped[str | None] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


# A city's result in a fleet migration run: queued and running, then what
# tenants.migrations.CityMigration says ("migrated", "up to date", "failed").
RESULT_QUEUED, RESULT_RUNNING, RESULT_FAILED = "queued", "running", "failed"
RESULT_STATUSES = (RESULT_QUEUED, RESULT_RUNNING, "migrated", "up to date", RESULT_FAILED)


class FleetMigrationRun(db.Model):
    """A migration of some or all cities started from the console: one job per city."""

    __tablename__ = "fleet_migration_runs"
    __table_args__ = {"schema": PLATFORM_SCHEMA}

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    started_by: Mapped[str] = mapped_column(sa.String(200))
    target_revision: Mapped[str] = mapped_column(sa.String(32))
    retry_of: Mapped[int | None] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.fleet_migration_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    results: Mapped[list["FleetMigrationResult"]] = relationship(
        back_populates="run", cascade="all, delete-orphan",
        order_by="FleetMigrationResult.tenant_slug")


class FleetMigrationResult(db.Model):
    __tablename__ = "fleet_migration_results"
    __table_args__ = (sa.CheckConstraint(f"status IN {RESULT_STATUSES}", name="status"),
                      sa.UniqueConstraint("run_id", "tenant_slug"),
                      {"schema": PLATFORM_SCHEMA})

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{PLATFORM_SCHEMA}.fleet_migration_runs.id", ondelete="CASCADE"))
    tenant_slug: Mapped[str] = mapped_column(sa.String(40), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=RESULT_QUEUED,
                                        server_default=RESULT_QUEUED)
    before: Mapped[str | None] = mapped_column(sa.String(32))
    after: Mapped[str | None] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)
    seconds: Mapped[float | None] = mapped_column(sa.Float)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    run: Mapped[FleetMigrationRun] = relationship(back_populates="results")
