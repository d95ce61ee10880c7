"""Creating, suspending, resuming, retiring, restoring, purging and deleting cities.

A city is provisioned in one transaction: its platform rows, its database role, its schema with
every table built from the current models (never by replaying the migration history) and the
tenant migration head recorded in its own `alembic_version`. Any failure rolls all of it back,
roles included (CREATE ROLE is transactional in PostgreSQL).

Retiring is a soft delete: the city disappears at once (its hosts answer 404, commands and jobs
refuse it, its queued jobs are cancelled) but its schema, role and rows are kept until
`purge_after`; `restore_tenant` brings it back until then, and `purge_retired` (`flask tenants
purge`, and the daily job `tenants.purge_retired`) drops every retired city whose time has come.
Deleting or purging a city sends `tenants.signals.tenant_deleted` once it has committed.
"""
import getpass
import logging
import zoneinfo
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import psycopg
import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.schema import CreateIndex, CreateTable

from tenants import uploads
from tenants.citus import CITY_DDL_SETTING
from tenants.citus import readiness_problem as citus_readiness_problem
from tenants.db import city_tables, db, execute_statements
from tenants.directory import TenantInfo, read_cities
from tenants.migrations import tenant_head
from tenants.models import (
    ACTIVE,
    LOCALES,
    RETIRED,
    SUSPENDED,
    PlatformAuditEntry,
    Tenant,
    TenantDomain,
)
from tenants.naming import (
    InvalidName,
    cities_role_name,
    normalize_domain,
    role_name,
    schema_name,
    strip_port,
    validate_slug,
)
from tenants.signals import send_robustly, tenant_created, tenant_deleted, tenant_suspended

log = logging.getLogger(__name__)

# A retention period beyond this is surely a typing error (and would overflow timestamptz).
MAX_RETENTION_DAYS = 36500

# The same table Alembic makes, so a provisioned city and a migrated one are indistinguishable.
VERSION_TABLE_DDL = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


class ProvisioningError(Exception):
    """A city could not be created or changed; the message says why. Nothing was changed."""


def actor() -> str:
    """Who a CLI action is recorded as (the platform console records its signed-in staff)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


@lru_cache(maxsize=4)
def city_schema_ddl(metadata: sa.MetaData, table_count: int, dialect) -> tuple[str, ...]:
    """Every city table and index as statements of unqualified names; run them with the
    search_path set to the new schema. Compiled once per process (table_count keys the cache).
    A table's `info["ddl"]` (statements such as its triggers) follows the table."""
    statements = []
    for table in city_tables(metadata):
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda index: index.name):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
        statements.extend(table.info.get("ddl", ()))
    return tuple(statements)


# Tables whose rows the city's own code may add but never change (the audit trail).
APPEND_ONLY_TABLES = ("audit_log",)


def append_only_sql(role: str) -> list[str]:
    return [f'REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM "{role}"'
            for table in APPEND_ONLY_TABLES]


def city_privileges_sql(schema: str, role: str) -> list[str]:
    """The city role may use its own schema's data and nothing else. Run before the city's
    tables are made: default privileges then cover them, and every table or sequence a later
    migration adds (migrations run as the same owner role). `alembic_version`, made first,
    stays out of reach."""
    return [
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" '
        f'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{role}"',
    ]


def new_city_sql(schema: str, role: str, database_oid: int, citus: bool,
                 distributed: bool = True) -> list[str]:
    """The city's role (which the owner may act as, and which joins the group of every city's
    role: what it may use outside its schema, docs/security.md) and its empty schema, put on
    the transaction's search_path; provisioning and import (tenants/export.py) both start so.
    On Citus the schema is made a distributed schema at once, unless `distributed` is False
    (an import distributes it after the restore, tenants.export)."""
    login = current_app.config["TENANT_ROLE_LOGIN"] or citus
    statements = [f'CREATE ROLE "{role}" {"LOGIN" if login else "NOLOGIN"}',
                  f'GRANT "{role}" TO CURRENT_USER',
                  f'GRANT "{cities_role_name(database_oid)}" TO "{role}"']
    if citus:
        statements.append(CITY_DDL_SETTING)
        if distributed:
            # Citus places a schema created while schema-based sharding is on on a worker.
            statements.append("SET LOCAL citus.enable_schema_based_sharding TO on")
    return [*statements, f'CREATE SCHEMA "{schema}"', f'SET LOCAL search_path TO "{schema}"']


def city_schema_sql(schema: str, role: str) -> list[str]:
    """The new city's tables at the tenant head, from the models (never by replaying the
    migration history): its alembic_version first, out of the role's reach, then the role's
    privileges, then every table. Runs after new_city_sql; provisioning and import (of an
    archive at head, tenants/export.py) build a city so."""
    return [
        VERSION_TABLE_DDL,
        f"INSERT INTO alembic_version (version_num) VALUES ('{tenant_head()}')",
        *city_privileges_sql(schema, role),
        *city_schema_ddl(db.metadata, len(db.metadata.tables), db.engine.dialect),
    ]


def _validated(slug, name, name_zh, domains, locale, timezone):
    validate_slug(slug)
    if not (name or "").strip():
        raise ProvisioningError("a name is required (--name)")
    if not domains:
        raise ProvisioningError("at least one domain is required (--domain)")
    hosts = []
    for domain in domains:
        host = normalize_domain(domain)
        if host not in hosts:
            hosts.append(host)
    platform_host = strip_port(current_app.config["PLATFORM_HOST"])
    if platform_host in hosts:
        raise ProvisioningError(f"{platform_host} is the platform's own host, not a city's")
    if locale not in LOCALES:
        raise ProvisioningError(f"unknown locale {locale!r}: use one of {', '.join(LOCALES)}")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ProvisioningError(
            f"unknown time zone {timezone!r}: use an IANA name such as Asia/Shanghai"
        ) from None
    return name.strip(), (name_zh or name).strip(), hosts


# What provisioning must know before it writes, in one round trip.
_PREFLIGHT_SQL = sa.text(
    """
    SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) AS database_oid,
           EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS citus,
           EXISTS (SELECT 1 FROM platform.tenants WHERE slug = :slug) AS slug_taken,
           (SELECT d.host || ' ' || t.slug FROM platform.tenant_domains d
            JOIN platform.tenants t ON t.id = d.tenant_id
            WHERE d.host = ANY(:hosts) ORDER BY d.host LIMIT 1) AS domain_taken,
           CAST(:plan AS text) IS NULL
           OR EXISTS (SELECT 1 FROM platform.plans WHERE key = :plan) AS plan_exists
    """
)
# The tenant row and its domains (in the order given: the first is the primary one).
_INSERT_TENANT_SQL = sa.text(
    """
    WITH tenant AS (
        INSERT INTO platform.tenants (slug, name, name_zh, status, schema_name, db_role,
                                      locale, timezone, plan)
        VALUES (:slug, :name, :name_zh, :status, :schema, :role, :locale, :timezone, :plan)
        RETURNING id
    ), domains AS (
        INSERT INTO platform.tenant_domains (tenant_id, host)
        SELECT tenant.id, host
        FROM tenant, unnest(CAST(:hosts AS text[])) WITH ORDINALITY AS h(host, n) ORDER BY n
    )
    SELECT id FROM tenant
    """
)


def _preflight(connection, slug: str, hosts: list[str], plan: str | None = None):
    checks = connection.execute(_PREFLIGHT_SQL,
                                {"slug": slug, "hosts": hosts, "plan": plan}).one()
    if checks.slug_taken:
        raise ProvisioningError(f"a city with the slug {slug!r} already exists")
    if checks.domain_taken:
        host, owner = checks.domain_taken.split(" ")
        raise ProvisioningError(f"the domain {host} already belongs to the city {owner}")
    if not checks.plan_exists:
        raise ProvisioningError(f"no plan with the key {plan!r}")
    if checks.citus and (problem := citus_readiness_problem(connection)):
        raise ProvisioningError(problem)
    return checks


def _audit(connection, action: str, slug: str, by: str | None = None, **detail) -> None:
    connection.execute(
        sa.insert(PlatformAuditEntry),
        {"actor": by or actor(), "action": action, "tenant_slug": slug, "detail": detail},
    )


def _tenant_info(connection, slug: str, lock: bool = False) -> TenantInfo:
    """The city's row as it is now; `lock` holds it (FOR UPDATE) until the transaction ends, so
    no other change of the city's status runs meanwhile."""
    found = read_cities(connection, slug, lock)
    if not found:
        raise ProvisioningError(f"no city with the slug {slug!r}")
    return found[0]


def when(moment: datetime | None) -> str:
    """A moment as vendor staff read it in messages: '2027-02-26 03:17 UTC' ('-' for None)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "-"


def _changed() -> None:
    if has_app_context() and "tenant_directory" in current_app.extensions:
        current_app.extensions["tenant_directory"].mark_stale()


def create_tenant(slug: str, name: str, domains: list[str], name_zh: str | None = None,
                  locale: str = "zh_Hans", timezone: str = "Asia/Shanghai",
                  plan: str | None = None, by: str | None = None) -> TenantInfo:
    """Provision a city, atomically. Raises InvalidName or ProvisioningError, changing nothing.
    `plan`: the key of its plan (None: not limited); `by`: the actor the platform audit log
    records (default: the CLI user)."""
    name, name_zh, hosts = _validated(slug, name, name_zh, domains, locale, timezone)
    engine = db.engine
    try:
        with engine.begin() as connection:
            checks = _preflight(connection, slug, hosts, plan)
            schema, role = schema_name(slug), role_name(checks.database_oid, slug)
            tenant = TenantInfo(
                id=connection.execute(_INSERT_TENANT_SQL, {
                    "slug": slug, "name": name, "name_zh": name_zh, "status": ACTIVE,
                    "schema": schema, "role": role, "locale": locale, "timezone": timezone,
                    "hosts": hosts, "plan": plan}).scalar_one(),
                slug=slug, name=name, name_zh=name_zh, status=ACTIVE, schema=schema, db_role=role,
                locale=locale, timezone=timezone, domains=tuple(hosts), plan=plan,
            )
            execute_statements(connection, [
                *new_city_sql(schema, role, checks.database_oid, checks.citus),
                *city_schema_sql(schema, role),
                *append_only_sql(role),
            ])
            _audit(connection, "tenant.create", slug, by, name=name, name_zh=name_zh,
                   domains=hosts, locale=locale, timezone=timezone, schema=schema, db_role=role,
                   plan=plan)
    except sa.exc.IntegrityError as error:
        raise ProvisioningError(
            f"the slug {slug!r} or one of the domains was taken meanwhile: {error.orig}"
        ) from None
    except (sa.exc.DBAPIError, psycopg.Error) as error:
        raise ProvisioningError(
            f"the database refused to provision {slug!r}: {getattr(error, 'orig', error)}"
        ) from None
    _changed()
    announce_created(tenant)
    return tenant


def announce_created(tenant: TenantInfo) -> None:
    """Send tenant_created for a city whose creation (provisioning or import) has committed."""
    if has_app_context():
        send_robustly(tenant_created, current_app._get_current_object(), tenant=tenant)


def set_status(slug: str, status: str, by: str | None = None) -> TenantInfo:
    """Suspend (citizens get the 503 page) or resume a city."""
    if status not in (ACTIVE, SUSPENDED):
        raise ProvisioningError(f"unknown status {status!r}")
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if before.status == RETIRED:
            raise ProvisioningError(f"the city {slug!r} is retired: restore it first "
                                    f"(flask tenants restore {slug})")
        if before.status == status:
            raise ProvisioningError(f"the city {slug!r} is already {status}")
        connection.execute(
            sa.update(Tenant).where(Tenant.slug == slug).values(status=status)
        )
        _audit(connection, f"tenant.{'suspend' if status == SUSPENDED else 'resume'}", slug,
               by, before=before.status, after=status)
        tenant = _tenant_info(connection, slug)
    _changed()
    if status == SUSPENDED and has_app_context():
        send_robustly(tenant_suspended, current_app._get_current_object(), tenant=tenant)
    return tenant


def set_maintenance(slug: str, on: bool, by: str | None = None) -> TenantInfo:
    """Put a city in maintenance mode (its sites are read-only, with a banner) or take it out."""
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if before.status == RETIRED:
            raise ProvisioningError(f"the city {slug!r} is retired: restore it first")
        if before.maintenance == on:
            raise ProvisioningError(
                f"the city {slug!r} is {'already' if on else 'not'} in maintenance mode")
        connection.execute(sa.update(Tenant).where(Tenant.slug == slug).values(maintenance=on))
        _audit(connection, f"tenant.maintenance_{'on' if on else 'off'}", slug, by,
               before=before.maintenance, after=on)
        tenant = _tenant_info(connection, slug)
    _changed()
    return tenant


def set_plan(slug: str, plan: str | None, by: str | None = None) -> TenantInfo:
    """Give a city another plan (None: not limited). Modules it has enabled stay enabled; its
    administrators can then only disable those the new plan leaves out."""
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if plan is not None and not connection.execute(
                sa.text("SELECT EXISTS (SELECT 1 FROM platform.plans WHERE key = :plan)"),
                {"plan": plan}).scalar():
            raise ProvisioningError(f"no plan with the key {plan!r}")
        if before.plan == plan:
            raise ProvisioningError(f"the city {slug!r} has the plan {plan!r} already")
        connection.execute(sa.update(Tenant).where(Tenant.slug == slug).values(plan=plan))
        _audit(connection, "tenant.plan", slug, by, before=before.plan, after=plan)
        tenant = _tenant_info(connection, slug)
    _changed()
    return tenant


# What the platform keeps of a city that its administrators change from its console (the
# directory serves them without a query, and the city's role can't write them).
PROFILE_COLUMNS = ("name", "name_zh", "locale", "timezone")


@contextmanager
def changing_profile(slug: str, changes: dict[str, tuple], by: str | None = None):
    """Change the city's names, default language or time zone, {column: (before, after)},
    with a platform audit entry per column (`tenant.name` …), in a platform transaction that
    commits when the block ends normally and rolls back when it raises: a caller commits its
    own city transaction inside the block, so both commit or neither does (the city's first)."""
    unknown = set(changes) - set(PROFILE_COLUMNS)
    if unknown:
        raise ValueError(f"not a setting of a city's profile: {', '.join(sorted(unknown))}")
    if not changes:
        yield
        return
    with db.engine.connect() as connection, connection.begin():
        connection.execute(sa.update(Tenant).where(Tenant.slug == slug)
                           .values({column: after for column, (_, after) in changes.items()}))
        for column, (before, after) in changes.items():
            _audit(connection, f"tenant.{column}", slug, by, before=before, after=after)
        yield
    _changed()


def add_domain(slug: str, domain: str, by: str | None = None) -> TenantInfo:
    """Let a city's site answer at one more host. Raises InvalidName or ProvisioningError."""
    host = normalize_domain(domain)
    if host == strip_port(current_app.config["PLATFORM_HOST"]):
        raise ProvisioningError(f"{host} is the platform's own host, not a city's")
    try:
        with db.engine.begin() as connection:
            before = _tenant_info(connection, slug, lock=True)
            if before.status == RETIRED:
                raise ProvisioningError(f"the city {slug!r} is retired: restore it first")
            owner = connection.execute(sa.text(
                "SELECT t.slug FROM platform.tenant_domains d JOIN platform.tenants t "
                "ON t.id = d.tenant_id WHERE d.host = :host"), {"host": host}).scalar()
            if owner is not None:
                raise ProvisioningError(f"the domain {host} already belongs to the city {owner}")
            connection.execute(sa.insert(TenantDomain), {"tenant_id": before.id, "host": host})
            _audit(connection, "tenant.domain_add", slug, by, domain=host,
                   before=list(before.domains), after=[*before.domains, host])
            tenant = _tenant_info(connection, slug)
    except sa.exc.IntegrityError:
        raise ProvisioningError(f"the domain {host} was taken meanwhile") from None
    _changed()
    return tenant


def remove_domain(slug: str, domain: str, by: str | None = None) -> TenantInfo:
    """Stop answering at one of a city's hosts; its last one can't be removed."""
    host = strip_port(domain)
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if host not in before.domains:
            raise ProvisioningError(f"{host} is not a domain of the city {slug!r}")
        if len(before.domains) == 1:
            raise ProvisioningError(f"{host} is the last domain of the city {slug!r}: add "
                                    "another first")
        connection.execute(sa.delete(TenantDomain).where(TenantDomain.host == host))
        _audit(connection, "tenant.domain_remove", slug, by, domain=host,
               before=list(before.domains), after=[d for d in before.domains if d != host])
        tenant = _tenant_info(connection, slug)
    _changed()
    return tenant


_CANCEL_QUEUED_JOBS_SQL = sa.text(
    "UPDATE jobs.procrastinate_jobs SET status = 'cancelled' "
    "WHERE status = 'todo' AND args->>'city' = :slug"
)


def _cancel_queued_jobs(connection, slug: str) -> None:
    """Withdraw the city's jobs that wait in the queue (a job already running finishes).
    procrastinate's triggers name its tables without a schema: `jobs` goes on the path."""
    connection.exec_driver_sql("SET LOCAL search_path TO jobs")
    connection.execute(_CANCEL_QUEUED_JOBS_SQL, {"slug": slug})
    connection.exec_driver_sql("SET LOCAL search_path TO DEFAULT")


def _drop(connection, tenant: TenantInfo) -> None:
    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{tenant.schema}" CASCADE')
    connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{tenant.db_role}"')
    connection.execute(sa.delete(Tenant).where(Tenant.slug == tenant.slug))
    _cancel_queued_jobs(connection, tenant.slug)


def _deleted(tenant: TenantInfo, action: str) -> None:
    """After the commit: the directory reloads, the city's files go, and receivers of
    tenant_deleted clean up what else they keep."""
    _changed()
    if has_app_context():
        uploads.remove_city_files(tenant.slug)
        send_robustly(tenant_deleted, current_app._get_current_object(), tenant=tenant,
                      action=action)


def _reason(error: Exception) -> str:
    reason = str(getattr(error, "orig", None) or error).strip()
    return reason.splitlines()[0] if reason else type(error).__name__


def delete_tenant(slug: str, by: str | None = None) -> TenantInfo:
    """Drop the city's schema, its role and its platform rows, in one transaction (a retired city
    too, without waiting for its purge)."""
    validate_slug(slug)
    try:
        with db.engine.begin() as connection:
            tenant = _tenant_info(connection, slug, lock=True)
            _drop(connection, tenant)
            _audit(connection, "tenant.delete", slug, by, schema=tenant.schema,
                   db_role=tenant.db_role, domains=list(tenant.domains))
    except sa.exc.DBAPIError as error:
        raise ProvisioningError(
            f"the database refused to delete {slug!r}: {_reason(error)}") from None
    _deleted(tenant, "tenant.delete")
    return tenant


# -- retiring, restoring, purging ------------------------------------------------------------

def retire_tenant(slug: str, retention_days: int, by: str | None = None) -> TenantInfo:
    """Retire a city (an active or a suspended one): it disappears at once, its data is kept for
    `retention_days` (0: purged by the next purge), then `purge_retired` drops it."""
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise ProvisioningError(f"the retention period must be a whole number of days, not "
                                f"{retention_days!r}")
    if retention_days < 0:
        raise ProvisioningError(f"the retention period must be 0 days or more, not "
                                f"{retention_days}")
    if retention_days > MAX_RETENTION_DAYS:
        raise ProvisioningError(f"the retention period must be at most {MAX_RETENTION_DAYS} "
                                f"days, not {retention_days}")
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if before.status == RETIRED:
            raise ProvisioningError(f"the city {slug!r} is already retired (it is purged after "
                                    f"{when(before.purge_after)})")
        now = sa.func.now()
        connection.execute(sa.update(Tenant).where(Tenant.slug == slug).values(
            status=RETIRED, retired_at=now,
            purge_after=now + sa.literal(timedelta(days=retention_days), sa.Interval)))
        tenant = _tenant_info(connection, slug)
        _cancel_queued_jobs(connection, slug)
        _audit(connection, "tenant.retire", slug, by, before=before.status,
               retention_days=retention_days, retired_at=tenant.retired_at.isoformat(),
               purge_after=tenant.purge_after.isoformat())
    _changed()
    return tenant


def restore_tenant(slug: str, by: str | None = None) -> TenantInfo:
    """Bring a retired city back, active, with all its data: possible until it is purged (also
    after its purge date, as long as no purge has dropped it yet)."""
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug, lock=True)
        if before.status != RETIRED:
            raise ProvisioningError(f"the city {slug!r} is not retired (it is {before.status})")
        connection.execute(sa.update(Tenant).where(Tenant.slug == slug).values(
            status=ACTIVE, retired_at=None, purge_after=None))
        _audit(connection, "tenant.restore", slug, by, before=RETIRED, after=ACTIVE,
               retired_at=before.retired_at.isoformat(),
               purge_after=before.purge_after.isoformat())
        tenant = _tenant_info(connection, slug)
    _changed()
    return tenant


_DUE_SQL = sa.text(
    "SELECT slug FROM platform.tenants WHERE status = :retired "
    "AND purge_after <= coalesce(CAST(:now AS timestamptz), now()) ORDER BY purge_after, slug"
)


def due_for_purge(now: datetime | None = None) -> list[TenantInfo]:
    """The retired cities whose purge_after has passed (at `now`, an aware datetime; default:
    the database's clock), first due first."""
    with db.engine.connect() as connection:
        slugs = connection.execute(_DUE_SQL, {"retired": RETIRED, "now": now}).scalars().all()
        found = []
        for slug in slugs:
            try:
                found.append(_tenant_info(connection, slug))
            except ProvisioningError:  # deleted meanwhile
                pass
        return found


class PurgeReport(list):
    """The cities purged (TenantInfo, in order); `failed` lists (TenantInfo, reason) of those
    that could not be, which stay retired for the next purge to try again."""

    def __init__(self):
        super().__init__()
        self.failed: list[tuple[TenantInfo, str]] = []


def _purge(slug: str, now: datetime | None, by: str | None) -> TenantInfo | None:
    """Drop one retired city, in one transaction, if it is still retired and due (None if it
    was restored or purged meanwhile)."""
    with db.engine.begin() as connection:
        # a city in use (a lock on one of its tables) fails, rather than stalling the others
        connection.execute(sa.text("SELECT set_config('lock_timeout', :timeout, true)"),
                           {"timeout": current_app.config["TENANT_MIGRATION_LOCK_TIMEOUT"]})
        try:
            tenant = _tenant_info(connection, slug, lock=True)
        except ProvisioningError:
            return None
        if tenant.status != RETIRED or not connection.execute(
                sa.text("SELECT CAST(:purge_after AS timestamptz) "
                        "<= coalesce(CAST(:now AS timestamptz), now())"),
                {"purge_after": tenant.purge_after, "now": now}).scalar():
            return None
        _drop(connection, tenant)
        _audit(connection, "tenant.purge", slug, by=by, schema=tenant.schema,
               db_role=tenant.db_role, domains=list(tenant.domains),
               retired_at=tenant.retired_at.isoformat(),
               purge_after=tenant.purge_after.isoformat())
    return tenant


def purge_retired(now: datetime | None = None, by: str | None = None) -> PurgeReport:
    """Drop every retired city whose purge_after has passed (at `now`; default: the database's
    clock), each in a transaction of its own: its schema, role and platform rows. A city that
    fails is logged and reported in `.failed`, and the others go on. `by` is the actor the
    audit log records (default: the CLI user)."""
    report = PurgeReport()
    for due in due_for_purge(now):
        try:
            tenant = _purge(due.slug, now, by)
        except Exception as error:  # reported; it stays retired, the next purge tries again
            log.exception("could not purge the retired city %s", due.slug)
            report.failed.append((due, _reason(error)))
            continue
        if tenant is not None:
            report.append(tenant)
            _deleted(tenant, "tenant.purge")
    return report


__all__ = ["InvalidName", "ProvisioningError", "PurgeReport", "add_domain", "announce_created",
           "changing_profile", "create_tenant", "delete_tenant", "due_for_purge", "purge_retired",
           "remove_domain", "restore_tenant", "retire_tenant", "set_maintenance", "set_plan",
           "set_status"]
