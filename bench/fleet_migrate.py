"""Migrating a fleet of cities, against the physical limit.

In a scratch database with N provisioned cities (the time to provision them is printed):
(a) a no-op `flask tenants migrate --all` when every city is at head: the CLI end to end as a
    subprocess (process start-up included; `flask tenants --help` is timed beside it for the
    start-up alone), and the in-process check `migrate_tenants(all cities, jobs=1)`;
(b) a real migration: a revision adding a column and an index to audit_log in every city, run
    with jobs=1, then a second one (another column and index) with jobs=4; each beside the same
    SQL sent raw with psycopg (one transaction per city, other column names), sequentially over
    one connection and then over 4 parallel connections. Every city must end at the new head
    with 0 failures. The revisions live in temporary copies of migrations/tenant.

--lean provisions each city with two tables only, `alembic_version` (what the no-op reads) and
`audit_log` (what the real migrations change): on Citus a full city takes seconds to provision
(docs/scaling.md), and the other tables play no part in what is measured here.
DATABASE_URL names the server (a Citus coordinator: the scratch database is bootstrapped).

Goals (issue): no-op under 2 s for 1,000 cities (django-tenants ~46 s); a real migration within
3x the raw SQL (django-tenants 29x).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common
import psycopg
from sqlalchemy.schema import CreateIndex, CreateTable

from tenants import provisioning
from tenants.db import db, execute_statements
from tenants.migrations import MIGRATIONS_DIR, city_versions, migrate_tenants, tenant_head
from tenants.provisioning import create_tenant

GOAL_NOOP, GOAL_RATIO = 2.0, 3.0
CLI_RUNS = 3
REVISION = '''"""bench: add {column} to audit_log

Revision ID: {revision}
Revises: {down_revision}
"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_log", sa.Column("{column}", sa.String(200), nullable=True))
    op.create_index("ix_audit_log_{column}", "audit_log", ["{column}"])


def downgrade():
    op.drop_index("ix_audit_log_{column}", table_name="audit_log")
    op.drop_column("audit_log", "{column}")
'''


def tree_with_revision(workdir: Path, previous: Path, column: str) -> Path:
    """A copy of the migration tree `previous` plus a revision adding `column` on top of its
    head (a new directory each time: script directories are cached per location)."""
    tree = workdir / f"tenant_{column}"
    shutil.copytree(previous, tree, ignore=shutil.ignore_patterns("__pycache__"))
    revision = uuid.uuid4().hex[:12]
    (tree / "versions" / f"{revision}_add_{column}.py").write_text(REVISION.format(
        column=column, revision=revision, down_revision=tenant_head(previous),
    ))
    return tree


def raw_sql(schema: str, column: str) -> list[str]:
    return [f'ALTER TABLE "{schema}".audit_log ADD COLUMN {column} VARCHAR(200)',
            f'CREATE INDEX ix_audit_log_{column} ON "{schema}".audit_log ({column})']


def raw_migration(uri: str, schemas: list[str], column: str, connections: int) -> float:
    """Seconds to run raw_sql on every schema, one transaction each, its statements pipelined
    (as the app sends them), over `connections` parallel connections (opening them
    included)."""
    def run(chunk):
        with psycopg.connect(uri) as connection:
            for schema in chunk:
                with connection.transaction():
                    execute_statements(connection, raw_sql(schema, column))

    chunks = [schemas[i::connections] for i in range(connections)]
    with ThreadPoolExecutor(connections) as pool:
        return _common.timed(lambda: list(pool.map(run, chunks)))[1]


def fleet_migration(tenants, jobs: int, tree: Path) -> tuple[float, Counter, str]:
    """Seconds, statuses and head of migrating every city to the head of `tree`."""
    head = tenant_head(tree)
    results, seconds = _common.timed(
        lambda: list(migrate_tenants(tenants, jobs=jobs, lock_timeout="5s", script_location=tree))
    )
    statuses = Counter(r.status if r.after == head else f"{r.status}, not at head"
                       for r in results)
    return seconds, statuses, head


def run_cli(uri: str, *args: str) -> tuple[float, str]:
    """Seconds and output of `flask …` against the scratch database, as an operator runs it."""
    flask = Path(sys.executable).with_name("flask")
    env = {**os.environ, "DATABASE_URL": uri}
    completed, seconds = _common.timed(
        subprocess.run, [str(flask), *args], cwd=_common.ROOT, env=env,
        capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{completed.stderr}")
    return seconds, completed.stdout.strip().splitlines()[-1]


def median_of(runs: list[float]) -> str:
    return f"{statistics.median(runs):.3f} s (runs {', '.join(f'{r:.3f}' for r in runs)})"


def per_city(seconds: float, n: int) -> str:
    return f"{seconds / n * 1000:.1f} ms"


def provision_fleet(n: int, lean: bool) -> float:
    """Seconds to provision n cities, one after the other (lean: audit_log their only table)."""
    if lean:  # create_tenant reads the city's DDL from this module global
        table = db.metadata.tables["audit_log"]
        ddl = tuple(str(element.compile(dialect=db.engine.dialect)).strip() for element in (
            CreateTable(table), *(CreateIndex(index) for index in table.indexes)))
        provisioning.city_schema_ddl = lambda *args: ddl

    def provision_all():
        for i in range(n):
            slug = f"city-{i:05d}"
            create_tenant(slug, f"City {i}", [f"{slug}.bench.example"])
            if (i + 1) % 100 == 0:
                print(f"  provisioned {i + 1}/{n}", file=sys.stderr)

    return _common.timed(provision_all)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=1000,
                        help="cities in the fleet (default 1000)")
    parser.add_argument("--lean", action="store_true",
                        help="cities with two tables only: alembic_version and audit_log")
    args = parser.parse_args()
    n = args.cities
    rows, checks, problems = [], [], 0
    with _common.scratch_app("fleet") as scratch, tempfile.TemporaryDirectory() as workdir:
        provisioned = provision_fleet(n, args.lean)
        lean = " (lean: alembic_version and audit_log)" if args.lean else ""
        print(f"provisioned {n} cities{lean} in {provisioned:.1f} s "
              f"({per_city(provisioned, n)} per city)")
        rows.append([f"provision {n} cities{lean} (create_tenant, one by one)",
                     f"{provisioned:.2f} s", per_city(provisioned, n), "", ""])
        directory = scratch.app.extensions["tenant_directory"]
        directory.mark_stale()
        tenants = directory.all()
        schemas = [t.schema for t in tenants]

        # (a) the no-op, every city at head
        startup = [run_cli(scratch.uri, "tenants", "--help")[0] for _ in range(CLI_RUNS)]
        noop, in_process = [], []
        for _ in range(CLI_RUNS):
            seconds, summary = run_cli(scratch.uri, "tenants", "migrate", "--all")
            noop.append(seconds)
            results, seconds = _common.timed(lambda: list(migrate_tenants(tenants, jobs=1)))
            in_process.append(seconds)
            statuses = Counter(r.status for r in results)
            problems += n - statuses["up to date"]
        checks.append(f"no-op CLI printed: {summary}")
        checks.append(f"no-op in process: {dict(statuses)}")
        rows += [
            ["no-op: flask tenants migrate --all (subprocess, end to end)", median_of(noop),
             "", f"< {GOAL_NOOP:.0f} s", "~46 s"],
            ["  of which process start-up (flask tenants --help)", median_of(startup),
             "", "", ""],
            ["no-op: migrate_tenants(all, jobs=1), in process", median_of(in_process),
             "", f"< {GOAL_NOOP:.0f} s", ""],
        ]

        # (b) real migrations, each beside the same SQL sent raw
        first = tree_with_revision(Path(workdir), MIGRATIONS_DIR / "tenant", "bench_note_1")
        second = tree_with_revision(Path(workdir), first, "bench_note_2")
        for tree, jobs, raw_column in ((first, 1, "raw_note_1"), (second, 4, "raw_note_2")):
            seconds, statuses, head = fleet_migration(tenants, jobs, tree)
            problems += n - statuses["migrated"]
            raw = raw_migration(scratch.uri, schemas, raw_column, connections=jobs)
            checks.append(f"migration jobs={jobs} to {head}: {dict(statuses)}")
            rows += [
                [f"migrate: add column + index, jobs={jobs}", f"{seconds:.2f} s",
                 per_city(seconds, n), "", ""],
                [f"raw SQL, same change, {jobs} connection(s)", f"{raw:.2f} s",
                 per_city(raw, n), "", ""],
                ["  ratio migrate/raw", f"{seconds / raw:.2f}x", "", f"<= {GOAL_RATIO:.0f}x",
                 "29x"],
            ]
        with db.engine.connect() as connection:
            versions = city_versions(connection, schemas)
        at_head = sum(version == head for version in versions.values())
        checks.append(f"cities at the new head {head} (read back): {at_head}/{n}; "
                      f"failures or cities not where expected: {problems}")

    _common.print_table(f"Fleet of {n} cities",
                        ["measured", "total", "per city", "goal", "django-tenants"], rows)
    print("\nchecks:\n  " + "\n  ".join(checks))
    _common.describe_run()
    if at_head != n or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
