"""What the benchmarks share: a scratch database with an app bound to it, the clean-up of the
database and of the city roles made in it, and the statistics and tables they print.

Not a benchmark itself (`make bench` runs every bench/*.py; this one only defines things).
The server is the one of DATABASE_URL when it is set, else the embedded PostgreSQL. A Citus
coordinator (its `postgres` database has workers registered) works too: the scratch database
is bootstrapped on every node (tenants.citus) and dropped from every node afterwards.
"""
import os
import platform
import shlex
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first, not the repository
    sys.path.insert(0, str(ROOT))

import psycopg

from app import create_app, embedded_postgres
from tenants import citus
from tenants.db import db
from tenants.migrations import migrate_platform
from tenants.naming import role_prefix


def server_uri() -> str:
    """libpq URI of a database to administer the server from (DATABASE_URL's, else the
    embedded server's `postgres` database, started if needed)."""
    return os.environ.get("DATABASE_URL") or embedded_postgres.url(database="postgres")


def with_database(uri: str, database: str) -> str:
    """The same libpq URI naming another database (socket directories in ?host= are kept)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path="/" + database))


@dataclass
class Scratch:
    app: object
    uri: str  # libpq URI of the scratch database
    name: str
    citus: bool  # on a Citus coordinator: every city is a distributed schema


def drop_scratch(server: str, name: str) -> list[str]:
    """Drop the database `name` and every role `civic_<its oid>_*` (on every node of a Citus
    cluster); returns the roles dropped. The database goes first: the roles' grants live in
    it."""
    with psycopg.connect(server, autocommit=True) as connection:
        row = connection.execute(
            "SELECT oid FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    if row is None:
        return []
    return citus.drop_database(server, name, role_prefix(row[0]))


def on_citus(server: str) -> bool:
    with psycopg.connect(server) as connection:
        return bool(citus.registered_nodes(connection)[1])


@contextmanager
def scratch_app(label: str):
    """A new database `civic_bench_<pid>_<label>` with the platform schema migrated, and an app
    bound to it; yields a Scratch inside an app context. On exit (error or not) the database is
    dropped with the city roles made in it."""
    server = server_uri()
    name = f"civic_bench_{os.getpid()}_{label}"
    uri = with_database(server, name)
    embedded_postgres.ensure_database(server, name)
    app = None
    try:
        distributed = on_citus(server)
        if distributed:
            citus.bootstrap(uri)
        app = create_app({"DATABASE_URL": uri, "TENANT_DIRECTORY_REFRESH_SECONDS": 0})
        with app.app_context():
            migrate_platform()
            yield Scratch(app, uri, name, distributed)
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        roles = drop_scratch(server, name)
        print(f"[cleanup] dropped database {name} and {len(roles)} city roles", file=sys.stderr)


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95 (inclusive interpolation) and mean of a list of seconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": cuts[49], "p95": cuts[94],
            "mean": statistics.fmean(samples), "max": max(samples)}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = "  ".join("-" * width for width in widths)
    print(f"\n{title}\n{line}")
    for index, row in enumerate(cells):
        padded = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(padded).rstrip())
        if index == 0:
            print(line)


def describe_run() -> None:
    """The command line, the machine and the server, printed with the figures."""
    with psycopg.connect(server_uri()) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
        max_connections = connection.execute("SHOW max_connections").fetchone()[0]
        _, workers = citus.registered_nodes(connection)
        if workers:
            citus_version = connection.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'citus'").fetchone()[0]
    server = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (pgserver)"
    if workers:
        server += (f", Citus {citus_version} coordinator with {len(workers)} workers on "
                   "the same machine")
    print(f"\ncommand:    {shlex.join(sys.orig_argv)}")
    print(f"machine:    {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}")
    print(f"PostgreSQL: {version} ({server}, max_connections {max_connections})")
