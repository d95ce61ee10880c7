"""City pages through gunicorn as production runs it, beside two bare Flask apps (issue #17).

--cities cities (default 50) in a scratch database, each with announcements (10 published, one
pinned: the banner on every page) and hospital appointments (one hospital, three departments).
Each target is served in turn by `gunicorn -c config/gunicorn.py` (the production settings:
gevent workers, --workers of them) and loaded by wrk (Debian's, /usr/bin/wrk) with a Lua script
that rotates the Host header over every city, --connections connections on --wrk-threads
threads, --seconds seconds after a warm-up of --warm-up seconds:

- bare hello: Flask answering "hello" (bench/_bare_app.py);
- bare SELECT: Flask + SQLAlchemy answering one SELECT of 10 rows from the Host's city schema;
- the city site (wsgi:app): /healthz, the home page /, the announcements list
  /announcements/ and a hospital's page with its departments /services/appointments/hospitals/1.

Printed: requests per second, latency p50 and p99, non-2xx answers (exit status 1 if any) and
socket errors (wrk counts a request over 2 s as one), the SQL
statements one request sends (every message libpq sends that asks the server for an answer —
BEGIN, a pool ping, COMMIT and ROLLBACK included — counted by libpq's trace in this process,
on an app configured as the served one, after a warm-up), and each page's req/s over the bare
SELECT app's. `--repeat N` runs every target N times, each on a fresh server, and shows each
run and the median. `--profile N` also profiles N requests of the home page and of the
hospital page of one city in process (cProfile) and prints where the time went, by package.

DATABASE_URL names the server (default: the embedded PostgreSQL).

    .venv/bin/python bench/serving.py [--cities 50] [--seconds 15] [--connections 16]
                                   [--workers 2] [--wrk-threads 1] [--repeat 1]
                                   [--profile 1000]
"""
import sys
from pathlib import Path

# The repository on the path, for the app and bench's modules as a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import http.client  # noqa: E402
import io
import os
import pstats
import re
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from app import create_app  # noqa: E402
from app.modules import configure  # noqa: E402
from app.modules.announcements.models import Announcement  # noqa: E402
from app.modules.appointments.models import Department, Hospital  # noqa: E402
from bench import _bare_app, _common  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tenants.db import db  # noqa: E402
from tenants.provisioning import create_tenant  # noqa: E402
from tenants.statement_trace import StatementTrace  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
PLATFORM_HOST = "platform.bench"
HOSPITAL_PAGE = "/services/appointments/hospitals/1"
# (label, WSGI app for gunicorn, path); the ratio column compares each city page to BARE_SELECT.
BARE_HELLO, BARE_SELECT = "bare Flask hello", "bare Flask + SQLAlchemy SELECT 10 rows"
TARGETS = [
    (BARE_HELLO, "bench._bare_app:hello_app()", "/"),
    (BARE_SELECT, "bench._bare_app:select_app()", "/"),
    ("city /healthz", "wsgi:app", "/healthz"),
    ("city home page /", "wsgi:app", "/"),
    ("city announcements list", "wsgi:app", "/announcements/"),
    ("city hospital's departments", "wsgi:app", HOSPITAL_PAGE),
]
PROFILED = ("/", HOSPITAL_PAGE)

LUA = """
local hosts = {%(hosts)s}
local path = "%(path)s"
local n = 0
request = function()
  n = n %% #hosts + 1
  return wrk.format("GET", path, {Host = hosts[n]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def make_cities(count: int) -> list[str]:
    """`count` cities with announcements and appointments; returns their hosts."""
    hosts = []
    now = datetime.now(UTC)
    for n in range(count):
        slug = f"http-{n:03d}"
        tenant = create_tenant(slug, f"Http {n}", [f"{slug}.bench.example"])
        with tenant_context(tenant):
            configure(enable=("announcements", "appointments"))
            db.session.add_all(Announcement(
                title=f"Notice {i}", title_zh=f"通知 {i}", body="Text " * 50, pinned=i == 0,
                published_at=now - timedelta(days=i)) for i in range(10))
            hospital = Hospital(name=f"Hospital of {slug}", name_zh="人民医院",
                                address="1 Main Street", phone="0578-0000000")
            db.session.add(hospital)
            db.session.add_all(Department(hospital=hospital, name=name, name_zh=name_zh)
                               for name, name_zh in (("Cardiology", "心血管内科"),
                                                     ("Paediatrics", "儿科"),
                                                     ("Dermatology", "皮肤科")))
            db.session.commit()
        hosts.append(tenant.domains[0])
    return hosts


def server_environment(uri: str, workers: int, port: int, metrics_dir: str) -> dict:
    return {**os.environ, "DATABASE_URL": uri, "CIVIC_ENV": "development",
            "PLATFORM_HOST": PLATFORM_HOST, "WEB_WORKERS": str(workers),
            "BIND": f"127.0.0.1:{port}", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(port: int, host: str, path: str, process, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path, headers={"Host": host})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {path} within {seconds} s")


def wrk(port: int, script: Path, args, seconds: float) -> dict:
    output = subprocess.run(
        [WRK, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds:g}s",
         "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, micros, p50, p99, status_errors, socket_errors = map(int, match.groups())
    return {"rps": requests / (micros / 1e6), "p50": p50 / 1e6, "p99": p99 / 1e6,
            "non_2xx": status_errors, "socket_errors": socket_errors, "requests": requests}


def load_target(app_spec: str, path: str, hosts: list[str], uri: str, args,
                folder: Path) -> dict:
    """One target served by its own gunicorn: warm-up, then the measured wrk run."""
    port = free_port()
    script = folder / "rotate.lua"
    script.write_text(LUA % {"hosts": ", ".join(f'"{host}"' for host in hosts), "path": path})
    log_path = folder / f"gunicorn-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", app_spec],
            cwd=_common.ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=server_environment(uri, args.workers, port, str(folder / "metrics")))
        try:
            wait_until_answering(port, hosts[0], path, process)
            wrk(port, script, args, args.warm_up)
            return wrk(port, script, args, args.seconds)
        finally:
            process.terminate()
            process.wait(60)


def statements_per_request(app, engine, host: str, path: str, samples: int = 5):
    """(the median count, the statements of the last one) of `samples` warm requests."""
    trace = StatementTrace(engine)
    try:
        client = app.test_client()
        for _ in range(8):  # warm: caches filled, past psycopg's prepare_threshold
            assert client.get(path, headers={"Host": host}).status_code == 200, path
        cache = app.extensions.get("city_cache")
        if cache is not None and cache.max_age > 0:
            cache.listening.wait(10)  # its start drops every entry once
            client.get(path, headers={"Host": host})
        counts, sent = [], []
        for _ in range(samples):
            start = trace.mark()
            assert client.get(path, headers={"Host": host}).status_code == 200, path
            sent = trace.statements(start)
            counts.append(len(sent))
        return sorted(counts)[len(counts) // 2], sent
    finally:
        trace.close()


def count_statements(uri: str, hosts: list[str]) -> dict[str, tuple[int, list]]:
    """Statements per request of each target, in process."""
    counts = {BARE_HELLO: (0, [])}
    select = _bare_app.select_app(uri)
    counts[BARE_SELECT] = statements_per_request(select, select.extensions["engine"], hosts[0],
                                                 "/")
    # As served, but for a directory that stays quiet: its poller shares the traced engine.
    city = create_app({"DATABASE_URL": uri, "PLATFORM_HOST": PLATFORM_HOST,
                       "TENANT_DIRECTORY_REFRESH_SECONDS": 3600})
    try:
        with city.app_context():
            engine = db.engine
        for label, _app, path in TARGETS[2:]:
            counts[label] = statements_per_request(city, engine, hosts[1], path)
    finally:
        city.extensions["tenant_directory"].close()
        city.extensions["city_cache"].close()
    return counts


PACKAGES = ("psycopg", "sqlalchemy", "flask_sqlalchemy", "jinja2", "markupsafe", "werkzeug",
            "flask_babel", "babel", "flask_wtf", "flask_login", "flask_limiter", "limits",
            "flask", "prometheus_client", "pythonjsonlogger", "logging", "json")


def package_of(filename: str) -> str:
    for package in PACKAGES:
        if f"/{package}/" in filename or filename.endswith(f"/{package}.py"):
            return package
    root = str(_common.ROOT)
    if filename.startswith(root) and "/.venv/" not in filename:
        return filename[len(root) + 1:].split("/", 1)[0] + "/ (ours)"
    if "site-packages" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    return "Python's standard library"


def profile(uri: str, host: str, path: str, requests: int) -> tuple[dict, float]:
    """({package: own seconds per request}, wall seconds per request) over `requests` warm
    requests of `path`, in process (cProfile)."""
    app = create_app({"DATABASE_URL": uri, "PLATFORM_HOST": PLATFORM_HOST})
    try:
        client = app.test_client()
        for _ in range(20):
            client.get(path, headers={"Host": host})
        app.extensions["city_cache"].listening.wait(10)
        client.get(path, headers={"Host": host})
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            client.get(path, headers={"Host": host})
        profiler.disable()
        wall = time.perf_counter() - started
    finally:
        app.extensions["tenant_directory"].close()
        app.extensions["city_cache"].close()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    own = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():
        if filename == "~":  # a C function (psycopg's I/O, str.join...): its callers' time
            for (caller_file, _l, _n), (_c, _n2, caller_tottime, _ct2) in callers.items():
                own[package_of(caller_file)] += caller_tottime
        else:
            own[package_of(filename)] += tottime
    return {package: seconds / requests for package, seconds in own.items()}, wall / requests


def profile_table(profiles: dict[str, tuple[dict, float]]) -> list[list]:
    """A row per package (the largest first), a column per profiled page: ms and share."""
    totals = {label: sum(own.values()) for label, (own, _wall) in profiles.items()}
    packages = sorted({package for own, _wall in profiles.values() for package in own},
                      key=lambda package: -sum(own.get(package, 0)
                                               for own, _wall in profiles.values()))

    def cell(label, seconds):
        return f"{seconds * 1e3:.3f} ms ({seconds / totals[label]:.0%})"

    rows = [[package, *(cell(label, own.get(package, 0.0))
                        for label, (own, _wall) in profiles.items())]
            for package in packages]
    rows.append(["all (profiled)", *(f"{totals[label] * 1e3:.3f} ms" for label in profiles)])
    rows.append(["wall time, profiler on", *(f"{wall * 1e3:.3f} ms"
                                             for _own, wall in profiles.values())])
    return rows


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured, per target")
    parser.add_argument("--warm-up", type=float, default=3.0, help="seconds before each run")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_WORKERS)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each target, each on a fresh server (the median shown)")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="also profile N requests of the home and hospital pages in "
                             "process (cProfile)")
    args = parser.parse_args()
    if not os.path.exists(WRK):
        sys.exit("wrk is not installed: apt-get install wrk")
    load_before = uptime()
    with _common.scratch_app("http") as scratch, \
            tempfile.TemporaryDirectory(prefix="civic-http-bench-") as folder:
        hosts, provisioned = _common.timed(make_cities, args.cities)
        print(f"provisioned {args.cities} cities in {provisioned:.1f} s", file=sys.stderr)
        counts = count_statements(scratch.uri, hosts)
        runs = defaultdict(list)  # a fresh gunicorn for each run: server starts compared
        for round_ in range(args.repeat):
            for label, app_spec, path in TARGETS:
                print(f"loading {label} (run {round_ + 1}) ...", file=sys.stderr)
                runs[label].append(load_target(app_spec, path, hosts, scratch.uri, args,
                                               Path(folder)))
        profiled = {label: profile(scratch.uri, hosts[0], path, args.profile)
                    for label, app_spec, path in TARGETS
                    if app_spec == "wsgi:app" and path in PROFILED} if args.profile else {}
    results = {label: sorted(found, key=lambda run: run["rps"])[len(found) // 2]
               for label, found in runs.items()}
    bare = results[BARE_SELECT]["rps"]
    rows = []
    for label, _app, path in TARGETS:
        result = results[label]
        ratio = f"{result['rps'] / bare:.2f}x" if label.startswith("city") else ""
        every = ", ".join(f"{run['rps']:,.0f}" for run in runs[label])
        rows.append([label, path, f"{result['rps']:,.0f}", every, _common.ms(result["p50"]),
                     _common.ms(result["p99"]), counts[label][0], ratio,
                     sum(run["non_2xx"] for run in runs[label]),
                     sum(run["socket_errors"] for run in runs[label])])
    _common.print_table(
        f"HTTP, gunicorn -c config/gunicorn.py ({args.workers} gevent workers), wrk "
        f"-t{args.wrk_threads} -c{args.connections} -d{args.seconds:g}s, Host rotating over "
        f"{args.cities} cities",
        ["target", "path", "req/s", "each run", "p50", "p99", "SQL/request", "vs bare SELECT",
         "non-2xx", "socket errors"],
        rows)
    print("\nGoal (#17): every city page >= 0.90x the bare SELECT app, <= 3 SQL statements.")
    print("\nStatements of one warm request (libpq trace):")
    for label, (_number, sent) in counts.items():
        if sent:
            print(f"  {label}:")
            for statement in sent:
                print(f"    {statement[:110]}")
    if profiled:
        _common.print_table(f"Where a page's time goes: {args.profile} requests each in "
                            "process (Flask test client, cProfile), own time by package",
                            ["package", *profiled], profile_table(profiled))
    print(f"\nload before: {load_before}\nload after:  {uptime()}")
    _common.describe_run()
    if any(run["non_2xx"] for found in runs.values() for run in found):
        sys.exit(1)


if __name__ == "__main__":
    main()
