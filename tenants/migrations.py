"""Migrating the platform schema and the fleet of city schemas, from code.

Two Alembic trees: migrations/platform (version table in `platform`) and migrations/tenant (one
linear history; every city schema keeps its own `alembic_version`). The fleet is checked with one
query; cities behind head migrate in parallel worker processes (Alembic's `op` and `context` are
process-global, so threads can't share them), each in its own transaction with a lock timeout.
A failing city is reported and the others go on; running again resumes with those still behind.
"""
import io
import logging
import multiprocessing
import os
import queue
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import sqlparse
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from psycopg import sql as psycopg_sql

from tenants import citus
from tenants.db import PLATFORM_SCHEMA, db, execute_statements

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PLATFORM_TREE, TENANT_TREE = "platform", "tenant"

# One query finds every city's version (platform.city_versions, from the platform migrations).
_VERSIONS_SQL = sa.text("SELECT schema_name, version_num FROM platform.city_versions(:schemas)")
# Past this many cities the check runs in chunks: each schema read holds a lock until commit.
_VERSION_CHUNK = 1000


def alembic_config(tree: str, script_location: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR / tree))
    config.set_main_option(
        "file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"
    )
    return config


@lru_cache(maxsize=8)
def script_directory(tree: str, script_location: Path | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(tree, script_location))


def tenant_head(script_location: Path | None = None) -> str:
    return script_directory(TENANT_TREE, script_location).get_current_head()


def _run_env(config: Config, script: ScriptDirectory, fn, **kwargs) -> None:
    with EnvironmentContext(config, script, fn=fn, **kwargs):
        script.run_env()


def _upgrade_to(script: ScriptDirectory, destination: str):
    def upgrade(revision, context):
        return script._upgrade_revs(destination, revision)

    return upgrade


# -- platform ---------------------------------------------------------------------------------

def platform_version(connection) -> str | None:
    if connection.exec_driver_sql("SELECT to_regclass('platform.alembic_version')").scalar():
        return connection.exec_driver_sql(
            "SELECT version_num FROM platform.alembic_version"
        ).scalar()
    return None


def migrate_platform() -> tuple[str | None, str]:
    """Create or upgrade the platform schema; returns (version before, version after). On a
    Citus coordinator that the bootstrap has not prepared for this role, raises CitusError."""
    script = script_directory(PLATFORM_TREE)
    with db.engine.connect() as connection, connection.begin():
        if citus.present(connection) and (problem := citus.readiness_problem(connection)):
            raise citus.CitusError(problem)
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('civic:platform'))")
        before = platform_version(connection)
        if before != script.get_current_head():
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PLATFORM_SCHEMA}")
            config = alembic_config(PLATFORM_TREE)
            config.attributes["connection"] = connection
            _run_env(config, script, _upgrade_to(script, "head"), destination_rev="head")
        return before, platform_version(connection)


# -- the fleet --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CityMigration:
    slug: str
    schema: str
    before: str | None
    after: str | None
    status: str  # "migrated", "up to date" or "failed"
    seconds: float = 0.0
    error: str | None = None


def city_versions(connection, schemas: list[str]) -> dict[str, str | None]:
    versions = dict.fromkeys(schemas)
    for start in range(0, len(schemas), _VERSION_CHUNK):
        chunk = schemas[start:start + _VERSION_CHUNK]
        versions.update(connection.execute(_VERSIONS_SQL, {"schemas": chunk}).all())
    return versions


def cities_behind(connection, tenants) -> list[str]:
    """The slugs of those `tenants` whose schema is not at the tenant tree's head."""
    head = tenant_head()
    versions = city_versions(connection, [tenant.schema for tenant in tenants])
    return [tenant.slug for tenant in tenants if versions[tenant.schema] != head]


def platform_behind(connection) -> bool:
    """Whether the platform schema is not at its tree's head (or not there at all)."""
    return platform_version(connection) != script_directory(PLATFORM_TREE).get_current_head()


def render_upgrade(from_revision: str | None, script_location: Path | None = None,
                   to_revision: str = "head") -> tuple[str, ...] | None:
    """The statements that take a city from `from_revision` (None: an empty schema, the whole
    history, alembic_version included) to `to_revision`, rendered once by Alembic's offline
    mode. Migrations name no schema, so the same statements serve every city at that revision.
    None when a migration can't be rendered (it reads the database): such cities migrate
    online, one Alembic run each."""
    script = script_directory(TENANT_TREE, script_location)
    config = alembic_config(TENANT_TREE, script_location)
    config.output_buffer = io.StringIO()
    try:
        _run_env(config, script, _upgrade_to(script, to_revision), as_sql=True,
                 starting_rev=from_revision, destination_rev=to_revision)
    except Exception:
        log.info("tenant migrations from %s can't be rendered; they run online", from_revision,
                 exc_info=True)
        return None
    return split_statements(config.output_buffer.getvalue())


def split_statements(script: str) -> tuple[str, ...]:
    """A script as its statements (sent one by one, as Citus needs: tenants.db
    execute_statements), comments-only parts left out. sqlparse knows PostgreSQL's quoting
    (dollar-quoted bodies, E'' strings), which a split on ';' does not."""
    return tuple(statement for statement in sqlparse.split(script)
                 if sqlparse.format(statement, strip_comments=True).strip())


def _failed(slug, schema, before, started, error) -> CityMigration:
    message = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return CityMigration(slug, schema, before, before, "failed", time.perf_counter() - started,
                         message)


def _city_script(schema: str, expected: str, lock_timeout: str, upgrade: tuple[str, ...],
                 on_citus: bool, quote) -> list[str]:
    """The rendered upgrade, bound to one city: its search_path, the lock timeout, and a check,
    under a row lock that keeps two migrators apart, that the city is still at `expected`."""
    return [
        f'SET LOCAL search_path TO "{schema}"',
        f"SET LOCAL lock_timeout TO {quote(lock_timeout)}",
        *([citus.CITY_DDL_SETTING] if on_citus else []),
        "DO $$ BEGIN\n"
        "  IF (SELECT version_num FROM alembic_version FOR UPDATE) IS DISTINCT FROM "
        f"{quote(expected)} THEN\n"
        f"    RAISE EXCEPTION 'the city is no longer at {expected}: run the migration again';\n"
        "  END IF;\n"
        "END $$",
        *upgrade,
    ]


def apply_upgrade(connection, slug: str, schema: str, before: str, upgrade: tuple[str, ...],
                  head: str, lock_timeout: str, on_citus: bool = False) -> CityMigration:
    """Migrate one city with rendered statements: one transaction, one pipelined round trip and
    the COMMIT. Never raises: a failure is reported and rolled back."""
    started = time.perf_counter()
    driver = connection.connection.driver_connection
    statements = _city_script(schema, before, lock_timeout, upgrade, on_citus,
                              lambda value: psycopg_sql.Literal(value).as_string(driver))
    try:
        with connection.begin():
            # Without parameters: the statements' '%' signs are literal (rendered with
            # paramstyle "named"), not placeholders.
            execute_statements(connection, statements)
    except Exception as error:  # reported per city; the fleet goes on
        return _failed(slug, schema, before, started, error)
    return CityMigration(slug, schema, before, head, "migrated", time.perf_counter() - started)


def migrate_city_online(engine: sa.Engine, slug: str, schema: str, lock_timeout: str,
                        script_location: Path | None = None,
                        on_citus: bool = False) -> CityMigration:
    """Migrate one city with an Alembic run of its own, for migrations that can't be rendered.
    One transaction; never raises: a failure is reported and rolled back."""
    started = time.perf_counter()
    before = None
    try:
        with engine.connect() as connection, connection.begin():
            connection.exec_driver_sql(
                "SELECT set_config('search_path', %(path)s, true), "
                "set_config('lock_timeout', %(timeout)s, true)",
                {"path": f'"{schema}"', "timeout": lock_timeout},
            )
            if on_citus:
                connection.exec_driver_sql(citus.CITY_DDL_SETTING)
            # The row lock keeps two migrators off the same city.
            before = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version FOR UPDATE"
            ).scalar()
            if before is None:
                raise RuntimeError(f"{schema}.alembic_version is empty: not a migrated city")
            config = alembic_config(TENANT_TREE, script_location)
            config.attributes.update(connection=connection, schema=schema)
            script = script_directory(TENANT_TREE, script_location)
            _run_env(config, script, _upgrade_to(script, "head"), destination_rev="head")
            after = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception as error:  # reported per city; the fleet goes on
        return _failed(slug, schema, before, started, error)
    return CityMigration(slug, schema, before, after, "migrated", time.perf_counter() - started)


def _apply_rendered(engine, cities, rendered, head, jobs, lock_timeout, on_citus):
    """Yield results as `jobs` threads, each on one pooled connection for all the cities of its
    share, apply the rendered scripts."""
    results = queue.SimpleQueue()

    def work(share):
        remaining = deque(share)
        try:
            with engine.connect() as connection:
                while remaining:
                    tenant, before = remaining[0]
                    results.put(apply_upgrade(connection, tenant.slug, tenant.schema, before,
                                              rendered[before], head, lock_timeout, on_citus))
                    remaining.popleft()
        except Exception as error:  # no connection: the rest of the share fails, reported
            for tenant, before in remaining:
                results.put(_failed(tenant.slug, tenant.schema, before, time.perf_counter(),
                                    error))

    shares = [cities[i::jobs] for i in range(min(jobs, len(cities)))]
    with ThreadPoolExecutor(max_workers=max(len(shares), 1)) as threads:
        for share in shares:
            threads.submit(work, share)
        for _ in cities:
            yield results.get()


_worker_engine: sa.Engine | None = None


def _start_worker(url: str) -> None:
    global _worker_engine
    _worker_engine = sa.create_engine(url, pool_size=1, max_overflow=0)


def _migrate_online_in_worker(slug, schema, lock_timeout, script_location, on_citus):
    return migrate_city_online(_worker_engine, slug, schema, lock_timeout, script_location,
                               on_citus)


def _migrate_online(engine, cities, jobs, lock_timeout, script_location, on_citus):
    """Yield results of online Alembic runs, in `jobs` worker processes (Alembic's `op` and
    `context` are process-global, so threads can't share them)."""
    calls = [(t.slug, t.schema, lock_timeout, script_location, on_citus) for t in cities]
    if jobs <= 1 or len(calls) <= 1:
        yield from (migrate_city_online(engine, *call) for call in calls)
        return
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(calls)),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(engine.url.render_as_string(hide_password=False),),
    ) as processes:
        futures = [processes.submit(_migrate_online_in_worker, *call) for call in calls]
        for future in as_completed(futures):
            yield future.result()


def migrate_tenants(tenants, jobs: int = 1, lock_timeout: str = "5s",
                    script_location: Path | None = None):
    """Yield one CityMigration per city, as each finishes.

    Cities at head are found with one query and yielded at once as "up to date". For every
    version the others are at, the upgrade is rendered once and applied city by city from
    `jobs` threads. Cities whose migrations can't be rendered run Alembic online, in `jobs`
    worker processes."""
    engine = db.engine
    head = tenant_head(script_location)
    tenants = list(tenants)
    with engine.connect() as connection:
        versions = city_versions(connection, [t.schema for t in tenants])
    behind = []
    for tenant in tenants:
        if versions[tenant.schema] == head:
            yield CityMigration(tenant.slug, tenant.schema, head, head, "up to date")
        else:
            behind.append(tenant)
    if not behind:
        return
    with engine.connect() as connection:
        on_citus = citus.present(connection)
    rendered = {version: render_upgrade(version, script_location)
                for version in {versions[t.schema] for t in behind} if version is not None}
    rendered = {version: sql for version, sql in rendered.items() if sql is not None}
    scripted = [(t, versions[t.schema]) for t in behind if versions[t.schema] in rendered]
    yield from _apply_rendered(engine, scripted, rendered, head, jobs, lock_timeout, on_citus)
    online = [t for t in behind if versions[t.schema] not in rendered]
    yield from _migrate_online(engine, online, jobs, lock_timeout, script_location, on_citus)


# -- writing migrations -------------------------------------------------------------------------

def new_revision(tree: str, message: str, autogenerate: bool = True) -> list[str]:
    """Write a new migration of `tree`, comparing the models with a scratch database state at
    head (a throw-away schema for the tenant tree), rolled back afterwards."""
    script = script_directory(tree)
    config = alembic_config(tree)
    with db.engine.connect() as connection, connection.begin() as transaction:
        if tree == TENANT_TREE:
            schema = f"city_revision_{os.getpid()}"
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            config.attributes.update(connection=connection, schema=schema)
            if script.get_current_head() is not None:
                _run_env(config, script, _upgrade_to(script, "head"), destination_rev="head")
        else:
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PLATFORM_SCHEMA}")
            config.attributes["connection"] = connection
        scripts = command.revision(config, message=message, autogenerate=autogenerate)
        transaction.rollback()
    script_directory.cache_clear()
    scripts = scripts if isinstance(scripts, list) else [scripts]
    return [s.path for s in scripts if s is not None]
