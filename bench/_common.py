"""What the benchmarks share: a scratch database with an app bound to it, the clean-up of the
database and of the city roles made in it, gunicorn started on it as production starts it, a
citizen's browser that is either a Flask test client or real HTTP to that gunicorn, a profiler
that splits the time by layer, and the statistics and tables they print.

Not a benchmark itself (`make bench` runs every bench/*.py; this one only defines things).
The server is the one of DATABASE_URL when it is set, else the embedded PostgreSQL. A Citus
coordinator (its `postgres` database has workers registered) works too: the scratch database
is bootstrapped on every node (tenants.citus) and dropped from every node afterwards.
"""
import contextvars
import cProfile
import os
import platform
import pstats
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first, not the repository
    sys.path.insert(0, str(ROOT))

import psycopg
import requests
from sqlalchemy import event

from app import create_app, embedded_postgres
from tenants import citus
from tenants.db import db
from tenants.migrations import migrate_platform
from tenants.naming import role_prefix
from tests.support.cities import PASSWORD
from tests.support.servers import gunicorn

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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


@contextmanager
def production_server(scratch: Scratch):
    """gunicorn on the scratch database as production starts it (config/gunicorn.py: gevent,
    WEB_WORKERS 2), on a free port; yields (port, the master's pid). CIVIC_ENV=development
    only so that it serves plain http (no Secure cookies) and accepts the sandbox; its log goes
    to a temporary file, printed on stderr if the run fails."""
    folder = Path(tempfile.mkdtemp(prefix="civic-bench-gunicorn-"))
    environment = {"DATABASE_URL": scratch.uri, "CIVIC_ENV": "development",
                   "PLATFORM_HOST": "platform.test", "WEB_WORKERS": "2",
                   "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
    log = folder / "gunicorn.log"
    try:
        with gunicorn(environment, log) as (port, process):
            yield port, process.pid
    except BaseException:
        print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used by a process and its descendants, including the
    ended children it has waited for (/proc; 0 for a process that is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu(int(child)) for child in children)


def postmaster_pid() -> int | None:
    """The pid of the PostgreSQL server when it runs on this machine (its postmaster.pid is
    readable), else None."""
    try:
        with psycopg.connect(server_uri()) as connection:
            folder = connection.execute("SHOW data_directory").fetchone()[0]
        return int((Path(folder) / "postmaster.pid").read_text().split()[0])
    except (psycopg.Error, OSError, ValueError):
        return None


@contextmanager
def cpu_used(processes: dict[str, int | None]):
    """Yields a dict that holds, on exit, the CPU seconds each process tree of `processes`
    ({name: pid}) used meanwhile (names with no pid are left out)."""
    pids = {name: pid for name, pid in processes.items() if pid is not None}
    before = {name: tree_cpu(pid) for name, pid in pids.items()}
    used: dict[str, float] = {}
    yield used
    used.update({name: tree_cpu(pid) - before[name] for name, pid in pids.items()})


@dataclass
class Answer:
    status: int
    location: str | None
    text: str


def _path_of(url: str) -> str:
    """The path and query of a link (the app's links may be absolute, on the city's host)."""
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


class InProcessBrowser:
    """A citizen's browser as a Flask test client: the whole app (routing, sessions, CSRF,
    templates) in this process, no HTTP. Each request runs in an empty context, as a server's
    would: under the caller's app context (scratch_app's) the requests would share one `g`,
    and Flask-WTF, finding the sign-in page's token there, would not put the next page's in
    the session."""

    def __init__(self, app, host: str):
        self.client, self.headers = app.test_client(), {"Host": host}

    def _answer(self, send, url: str, **data) -> Answer:
        response = contextvars.Context().run(send, _path_of(url), headers=self.headers, **data)
        return Answer(response.status_code, response.location, response.text)

    def get(self, url: str) -> Answer:
        return self._answer(self.client.get, url)

    def post(self, url: str, data: dict) -> Answer:
        return self._answer(self.client.post, url, data=data)


class HttpBrowser:
    """A citizen's browser over real HTTP to 127.0.0.1:`port` (keep-alive, its cookies), with
    the city's Host header; redirects are not followed (the caller sees them)."""

    def __init__(self, port: int, host: str):
        self.session, self.base, self.headers = requests.Session(), f"http://127.0.0.1:{port}", {
            "Host": host}

    def _answer(self, response) -> Answer:
        return Answer(response.status_code, response.headers.get("Location"), response.text)

    def get(self, url: str) -> Answer:
        return self._answer(self.session.get(self.base + _path_of(url), headers=self.headers,
                                             allow_redirects=False, timeout=60))

    def post(self, url: str, data: dict) -> Answer:
        return self._answer(self.session.post(self.base + _path_of(url), headers=self.headers,
                                              data=data, allow_redirects=False, timeout=60))


def sign_in(browser, email: str) -> None:
    """The city's sign-in form, filled in as a citizen does (password tests.support's)."""
    form = browser.get("/account/login")
    answer = browser.post("/account/login", {"csrf_token": CSRF.search(form.text).group(1),
                                             "identifier": email, "password": PASSWORD})
    if answer.status != 302:
        raise SystemExit(f"signing in as {email} answered {answer.status}")


# Where a function's own CPU time goes, by the first pattern its file or name matches.
LAYERS = [
    ("psycopg", re.compile(r"psycopg")),
    ("SQLAlchemy", re.compile(r"sqlalchemy")),
    ("templates (Jinja2)", re.compile(r"jinja2|/templates/|\.html")),
    ("crypto (RSA: cryptography; argon2, hashlib, hmac)",
     re.compile(r"cryptography|argon2|_hashlib|hmac|_cffi")),
    ("Flask, Werkzeug, WTForms, Babel, procrastinate and other libraries",
     re.compile(r"site-packages")),
    ("our code (app/, tenants/)", re.compile(re.escape(str(ROOT)) + r"/(app|tenants)/")),
    ("Python standard library and builtins", re.compile(r".")),
]


class Profiler:
    """Where the time of some blocks goes (`with profiler:`, on the thread that enters them).
    Every block: its wall time, its thread's CPU time (time.thread_time: what this process
    computes, not what it waits for) and each SQL statement's time from sent to answered
    through `engine`. Every second block also runs under cProfile (on the thread's CPU time),
    whose overhead inflates the CPU of code with many small calls: the figures come from the
    other blocks, and cProfile only gives the shares of the layers and functions."""

    def __init__(self, engine):
        self.profile = cProfile.Profile(time.thread_time)
        self.engine, self.on = engine, threading.local()
        self.blocks = 0
        self.plain = {"blocks": 0, "wall": 0.0, "cpu": 0.0}  # the blocks without cProfile
        self.statements: dict[str, list[float]] = defaultdict(list)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection, *_args):
        if getattr(self.on, "plain", False):
            connection.info["bench_sent"] = time.perf_counter()

    def _after(self, connection, _cursor, statement, *_args):
        sent = connection.info.pop("bench_sent", None)
        if sent is not None:
            self.statements[" ".join(statement.split())[:90]].append(time.perf_counter() - sent)

    def __enter__(self):
        self.blocks += 1
        self.on.plain = self.blocks % 2 == 1
        if not self.on.plain:
            self.profile.enable()
        self.on.started = (time.perf_counter(), time.thread_time())

    def __exit__(self, *_exc):
        wall, cpu = (time.perf_counter() - self.on.started[0],
                     time.thread_time() - self.on.started[1])
        if self.on.plain:
            self.plain["blocks"] += 1
            self.plain["wall"] += wall
            self.plain["cpu"] += cpu
        else:
            self.profile.disable()
        self.on.plain = False

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def print(self, title: str, top: int = 12) -> None:
        """Per block: the wall time, this process's CPU split by layer, the SQL statements'
        time; then the `top` functions (by own CPU) and statements (by time)."""
        per = self.plain["blocks"]
        wall, cpu = self.plain["wall"], self.plain["cpu"]
        stats = pstats.Stats(self.profile)
        layers = defaultdict(float)
        for (filename, _line, name), (_calls, _p, own, _cumulative, _c) in stats.stats.items():
            where = f"{filename}:{name}"
            layers[next(label for label, pattern in LAYERS if pattern.search(where))] += own
        profiled = sum(layers.values())
        sql = sum(map(sum, self.statements.values()))
        print_table(f"{title}: where the time goes, per one ({per} measured, as many profiled)",
                    ["part", "per one", "share of wall time"], [
            ["wall time", ms(wall / per), "100%"],
            ["  this process's CPU, by layer below (shares from cProfile)", ms(cpu / per),
             f"{cpu / wall:.0%}"],
            *([f"    {layer}", ms(cpu * own / profiled / per), f"{cpu * own / profiled / wall:.0%}"]
              for layer, own in sorted(layers.items(), key=lambda item: -item[1])),
            ["  SQL statements, sent to answered (their CPU here is in the layers too)",
             ms(sql / per), f"{sql / wall:.0%}"],
            ["  the rest: BEGIN and COMMIT, waiting for a CPU",
             ms(max(wall - cpu - sql, 0) / per), f"{max(wall - cpu - sql, 0) / wall:.0%}"],
            ["SQL statements per one", f"{sum(map(len, self.statements.values())) / per:.1f}",
             ""]])
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]
        print_table(f"{title}: the {top} functions with the most own CPU (cProfile's shares)", [
            "function", "calls per one", "share of the CPU", "cumulative share"],
            [[f"{Path(filename).name}:{line}({name})"[:80],
              f"{calls / (self.blocks - per):.1f}",
              f"{own / profiled:.1%}", f"{cumulative / profiled:.1%}"]
             for (filename, line, name), (calls, _p, own, cumulative, _c) in rows])
        slowest = sorted(self.statements.items(), key=lambda item: -sum(item[1]))[:top]
        print_table(f"{title}: the {top} SQL statements with the most time", [
            "statement", "calls per one", "time per one", "p50 per call"],
            [[statement, f"{len(times) / per:.1f}", ms(sum(times) / per),
              ms(statistics.median(times))] for statement, times in slowest])


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
