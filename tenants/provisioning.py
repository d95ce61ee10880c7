"""Creating, suspending, resuming and deleting cities.

A city is provisioned in one transaction: its platform rows, its database role, its schema with
every table built from the current models (never by replaying the migration history) and the
tenant migration head recorded in its own `alembic_version`. Any failure rolls all of it back,
roles included (CREATE ROLE is transactional in PostgreSQL).
"""
import getpass
import zoneinfo
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.schema import CreateIndex, CreateTable

from tenants.db import city_tables, db
from tenants.directory import TenantInfo
from tenants.models import ACTIVE, LOCALES, SUSPENDED, PlatformAuditEntry, Tenant, TenantDomain
from tenants.naming import (
    InvalidName,
    normalize_domain,
    role_name,
    schema_name,
    strip_port,
    validate_slug,
)

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
def city_schema_ddl(metadata: sa.MetaData, table_count: int, dialect) -> str:
    """Every city table and index as one script of unqualified names; run it with the
    search_path set to the new schema. Compiled once per process (table_count keys the cache)."""
    statements = []
    for table in city_tables(metadata):
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda index: index.name):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return ";\n".join(statements)


def city_grants_sql(schema: str, role: str) -> str:
    """The city role may use its own schema's data, and nothing else (the migration bookkeeping
    included). Run at provisioning and after every migration of the city."""
    return (
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}";\n'
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}";\n'
        f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}";\n'
        f'REVOKE ALL ON "{schema}".alembic_version FROM "{role}"'
    )


def _citus_present(connection) -> bool:
    return connection.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
    ).scalar()


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


def _check_free(connection, slug: str, hosts: list[str]) -> None:
    if connection.execute(
        sa.text("SELECT 1 FROM platform.tenants WHERE slug = :slug"), {"slug": slug}
    ).first():
        raise ProvisioningError(f"a city with the slug {slug!r} already exists")
    taken = connection.execute(
        sa.text(
            "SELECT d.host, t.slug FROM platform.tenant_domains d "
            "JOIN platform.tenants t ON t.id = d.tenant_id WHERE d.host = ANY(:hosts)"
        ),
        {"hosts": hosts},
    ).first()
    if taken:
        raise ProvisioningError(f"the domain {taken.host} already belongs to the city {taken.slug}")


def _audit(connection, action: str, slug: str, **detail) -> None:
    connection.execute(
        sa.insert(PlatformAuditEntry),
        {"actor": actor(), "action": action, "tenant_slug": slug, "detail": detail},
    )


def _tenant_info(connection, slug: str) -> TenantInfo:
    row = connection.execute(
        sa.text(
            "SELECT t.id, t.slug, t.name, t.name_zh, t.status, t.schema_name, t.db_role, "
            "t.locale, t.timezone, array(SELECT host FROM platform.tenant_domains "
            "WHERE tenant_id = t.id ORDER BY id) FROM platform.tenants t WHERE t.slug = :slug"
        ),
        {"slug": slug},
    ).first()
    if row is None:
        raise ProvisioningError(f"no city with the slug {slug!r}")
    return TenantInfo(*row[:9], domains=tuple(row[9]))


def _changed() -> None:
    if has_app_context() and "tenant_directory" in current_app.extensions:
        current_app.extensions["tenant_directory"].mark_stale()


def create_tenant(slug: str, name: str, domains: list[str], name_zh: str | None = None,
                  locale: str = "zh_Hans", timezone: str = "Asia/Shanghai") -> TenantInfo:
    """Provision a city, atomically. Raises InvalidName or ProvisioningError, changing nothing."""
    from tenants.migrations import tenant_head

    name, name_zh, hosts = _validated(slug, name, name_zh, domains, locale, timezone)
    engine = db.engine
    ddl = city_schema_ddl(db.metadata, len(db.metadata.tables), engine.dialect)
    head = tenant_head()
    try:
        with engine.begin() as connection:
            _check_free(connection, slug, hosts)
            oid = connection.exec_driver_sql(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            ).scalar_one()
            schema, role = schema_name(slug), role_name(oid, slug)
            citus = _citus_present(connection)
            tenant_id = connection.execute(
                sa.insert(Tenant).returning(Tenant.id),
                {"slug": slug, "name": name, "name_zh": name_zh, "status": ACTIVE,
                 "schema_name": schema, "db_role": role, "locale": locale, "timezone": timezone},
            ).scalar_one()
            connection.execute(
                sa.insert(TenantDomain), [{"tenant_id": tenant_id, "host": h} for h in hosts]
            )
            login = "LOGIN" if citus or current_app.config["TENANT_ROLE_LOGIN"] else "NOLOGIN"
            # Citus places a schema created while schema-based sharding is on on a worker node.
            sharding = "SET LOCAL citus.enable_schema_based_sharding TO on;\n" if citus else ""
            connection.exec_driver_sql(
                f'CREATE ROLE "{role}" {login};\n'
                f'GRANT "{role}" TO CURRENT_USER;\n'
                f"{sharding}"
                f'CREATE SCHEMA "{schema}";\n'
                f'SET LOCAL search_path TO "{schema}";\n'
                f"{VERSION_TABLE_DDL};\n"
                f"INSERT INTO alembic_version (version_num) VALUES ('{head}');\n"
                f"{ddl};\n"
                f"{city_grants_sql(schema, role)}"
            )
            _audit(connection, "tenant.create", slug, name=name, name_zh=name_zh, domains=hosts,
                   locale=locale, timezone=timezone, schema=schema, db_role=role)
            tenant = _tenant_info(connection, slug)
    except sa.exc.IntegrityError as error:
        raise ProvisioningError(
            f"the slug {slug!r} or one of the domains was taken meanwhile: {error.orig}"
        ) from None
    except sa.exc.DBAPIError as error:
        raise ProvisioningError(
            f"the database refused to provision {slug!r}: {error.orig}"
        ) from None
    _changed()
    return tenant


def set_status(slug: str, status: str) -> TenantInfo:
    """Suspend (citizens get the 503 page) or resume a city."""
    if status not in (ACTIVE, SUSPENDED):
        raise ProvisioningError(f"unknown status {status!r}")
    with db.engine.begin() as connection:
        before = _tenant_info(connection, slug)
        if before.status == status:
            raise ProvisioningError(f"the city {slug!r} is already {status}")
        connection.execute(
            sa.update(Tenant).where(Tenant.slug == slug).values(status=status)
        )
        _audit(connection, f"tenant.{'suspend' if status == SUSPENDED else 'resume'}", slug,
               before=before.status, after=status)
        tenant = _tenant_info(connection, slug)
    _changed()
    return tenant


def delete_tenant(slug: str) -> TenantInfo:
    """Drop the city's schema, its role and its platform rows, in one transaction."""
    validate_slug(slug)
    with db.engine.begin() as connection:
        tenant = _tenant_info(connection, slug)
        connection.execute(sa.select(Tenant.id).where(Tenant.slug == slug).with_for_update())
        connection.exec_driver_sql(
            f'DROP SCHEMA IF EXISTS "{tenant.schema}" CASCADE;\n'
            f'DROP ROLE IF EXISTS "{tenant.db_role}"'
        )
        connection.execute(sa.delete(Tenant).where(Tenant.slug == slug))
        _audit(connection, "tenant.delete", slug, schema=tenant.schema, db_role=tenant.db_role,
               domains=list(tenant.domains))
    _changed()
    return tenant


__all__ = ["InvalidName", "ProvisioningError", "create_tenant", "delete_tenant", "set_status"]
