"""The job queue: jobs per second through one worker and through two, and the delay from
enqueue to start under load.

In a scratch database with --cities cities, a tiny city task (`bench.touch`, declared here before
any app is made) runs one transaction in its city (the city's role and search_path, as every city
job) that inserts its key, the city schema it saw, the worker's pid, the time it was deferred and
the time it started into `public.bench_job_starts`.

(a) Enqueue: --jobs jobs deferred one by one with `tenants.jobs.defer` (one transaction each),
    spread over the cities; timed.
(b) Throughput: with those jobs queued, `flask worker --once` subprocesses (the real CLI, its
    app made by `worker_flask_app()` below so that it knows the bench tasks) work the queue off:
    1 worker, 2 workers in parallel, 1 worker with --concurrency 4. Measured: wall time from
    spawn to exit (process start-up included; `flask worker --once` on an empty queue is timed
    apart), the steady rate between the first and the last job start, and the workers' CPU per
    job (rusage, start-up taken off).
(c) Delay from enqueue to start: with 1 or 2 `flask worker` processes running (started before,
    warmed up), jobs are deferred at a steady rate for --seconds; enqueue->start delays (the
    clock read just before `defer`, the task's first line) give p50/p95/max. Once more with a
    worker that does not LISTEN (what a worker gets when LISTEN/NOTIFY does not reach it, e.g.
    through PgBouncer in transaction mode): it finds new jobs only by polling, every
    `fetch_job_polling_interval` (procrastinate's default, 5 s).
(d) One job in this process: the task body alone, the same transaction as raw SQL, and an
    in-process worker on no-op platform jobs (`bench.noop`: the queue's own cost) and on
    bench.touch jobs.

For every phase of (b) and (c), where the CPU went (from /proc): the workers, the PostgreSQL
backends of the scratch database, this process, and the rest of the machine (PostgreSQL's
background processes, other databases, other users: a run where `other` is large was disturbed).

Every worker is stopped with SIGTERM (SIGKILL after a bounded wait) and nothing is left behind.
"""
import argparse
import logging
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common
import psycopg
import sqlalchemy as sa

from tenants.context import tenant_context
from tenants.db import db
from tenants.jobs import city_task, defer, platform_task, worker_app
from tenants.provisioning import create_tenant

TASK = "bench.touch"
NOOP_TASK = "bench.noop"
BENCH_TABLE_DDL = """
CREATE TABLE public.bench_job_starts (
    key text PRIMARY KEY,
    city_schema text NOT NULL,
    worker_pid integer NOT NULL,
    enqueued_at double precision NOT NULL,
    started_at double precision NOT NULL
);
GRANT INSERT ON public.bench_job_starts TO PUBLIC;
"""
INSERT_START = sa.text(
    "INSERT INTO public.bench_job_starts (key, city_schema, worker_pid, enqueued_at, started_at) "
    "VALUES (:key, current_schema(), :pid, :enqueued_at, :started_at)"
)
WORKER_APP = "bench/jobs.py:worker_flask_app()"  # `flask --app …` in the worker subprocesses
FLASK = Path(sys.executable).parent / "flask"
STOP_WAIT = 20  # seconds a worker gets after SIGTERM before SIGKILL
DRAIN_TIMEOUT = 600
BREAKDOWN_JOBS = 1000


@city_task(TASK)
def touch(key: str, enqueued_at: float) -> None:
    """One small transaction in the job's city (its role, its search_path), recording when the
    job started; the row goes to `public` (the bench granted INSERT there to every role)."""
    started_at = time.time()
    db.session.execute(INSERT_START, {"key": key, "pid": os.getpid(),
                                      "enqueued_at": enqueued_at, "started_at": started_at})
    db.session.commit()


@platform_task(NOOP_TASK)
def noop(key: str) -> None:
    """A job that does nothing, in no city: what the queue itself costs."""


def worker_flask_app():
    """The app of a worker subprocess (`flask --app bench/jobs.py:worker_flask_app() worker`):
    the project's app, plus the bench tasks this module declared on import."""
    from app import create_app

    return create_app()


# --- processes ------------------------------------------------------------------------------

class Workers:
    """Worker subprocesses, their output in files; always stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, uri: str, logs: Path, label: str):
        self.environment = {**os.environ, "DATABASE_URL": uri}
        self.logs, self.label = logs, label
        self.processes: list[subprocess.Popen] = []

    def start(self, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{self.label}-{len(self.processes)}.log", "wb")
        process = subprocess.Popen(command, cwd=_common.ROOT, env=self.environment,
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        return process

    def start_cli(self, *options: str) -> subprocess.Popen:
        return self.start([str(FLASK), "--app", WORKER_APP, "worker", *options])

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.wait(max(0.1, deadline - time.monotonic()))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                print(f"[workers] {process.pid} ignored SIGTERM for {STOP_WAIT} s: killed",
                      file=sys.stderr)
                process.kill()
                process.wait(STOP_WAIT)

    def check(self) -> None:
        for index, process in enumerate(self.processes):
            if process.returncode not in (0, -signal.SIGTERM):
                tail = (self.logs / f"{self.label}-{index}.log").read_text()[-3000:]
                raise RuntimeError(f"worker {self.label}-{index} exited with "
                                   f"{process.returncode}:\n{tail}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """The CPU spent during a phase, and by whom: this process, its worker subprocesses, the
    PostgreSQL backends of the scratch database, and everything else on the machine (the
    machine's busy time from /proc/stat less the rest: other PostgreSQL work, other users).
    A thread samples /proc every 0.2 s, so processes that start and end inside the phase count
    (up to their last sample)."""

    def __init__(self, database: str):
        self.database = f" {database} "
        self.me = os.getpid()
        self.first: dict[int, tuple[str, int]] = {}
        self.last: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _group(self, pid: int, ppid: int) -> str:
        if pid == self.me:
            return "bench"
        if ppid == self.me:
            return "workers"
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read().decode(errors="replace")
        except OSError:
            return "other"
        return "postgres" if title.startswith("postgres:") and self.database in title \
            else "other"

    def _scan(self) -> dict[int, tuple[str, int]]:
        seen = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            seen[pid] = (self._group(pid, int(fields[1])), int(fields[11]) + int(fields[12]))
        return seen

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.last.update(self._scan())

    @staticmethod
    def _machine() -> float:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
        return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # less idle and iowait

    def __enter__(self):
        self.first = self._scan()
        self.last = dict(self.first)
        self.machine, self.wall = self._machine(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.last.update(self._scan())
        self.wall = time.perf_counter() - self.wall
        self.machine = self._machine() - self.machine
        self.seconds = dict.fromkeys(("bench", "workers", "postgres"), 0.0)
        for pid, (group, ticks) in self.last.items():
            if group in self.seconds:
                before = self.first.get(pid)
                self.seconds[group] += (ticks - (before[1] if before else 0)) / CLOCK_TICKS
        self.seconds["other"] = max(0.0, self.machine - sum(self.seconds.values()))
        self.seconds["idle"] = max(0.0, (os.cpu_count() or 1) * self.wall - self.machine)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the database side ----------------------------------------------------------------------

def scalar(query: str, **params):
    with db.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar()


def starts(prefix: str) -> list[sa.Row]:
    with db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT key, city_schema, worker_pid, enqueued_at, started_at "
            "FROM public.bench_job_starts WHERE starts_with(key, :prefix) ORDER BY started_at"),
            {"prefix": prefix}).all()


def queue_counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        return dict(connection.execute(sa.text(
            "SELECT status, count(*) FROM jobs.procrastinate_jobs GROUP BY status")).all())


def wait_for(condition, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(poll)
    return result


def verify(rows: list[sa.Row], expected: dict[str, str], prefix: str) -> None:
    """Every job ran once, in the schema of the city it was deferred for."""
    seen = {row.key: row.city_schema for row in rows}
    missing = set(expected) - set(seen)
    wrong = [key for key, schema in seen.items() if expected.get(key) != schema]
    if missing or wrong or len(rows) != len(expected):
        raise RuntimeError(f"{prefix}: {len(missing)} jobs missing, {len(wrong)} in the wrong "
                           f"schema, {len(rows)} rows for {len(expected)} jobs")


# --- the measurements -----------------------------------------------------------------------

def defer_jobs(prefix: str, count: int, cities: list) -> tuple[dict[str, str], list[float]]:
    """Defer `count` jobs round-robin over the cities; returns key -> expected schema and the
    duration of every defer call."""
    expected, durations = {}, []
    for n in range(count):
        city = cities[n % len(cities)]
        key = f"{prefix}{n:06d}"
        started = time.perf_counter()
        defer(TASK, city=city.slug, key=key, enqueued_at=time.time())
        durations.append(time.perf_counter() - started)
        expected[key] = city.schema
    return expected, durations


def throughput(scratch, cities, logs: Path, label: str, processes: int, concurrency: int,
               jobs: int) -> dict:
    prefix = f"tp-{label}-"
    (expected, durations), enqueue_wall = _common.timed(defer_jobs, prefix, jobs, cities)
    assert queue_counts().get("todo", 0) >= jobs
    options = ["--once"] + (["--concurrency", str(concurrency)] if concurrency > 1 else [])
    cpu_before = children_cpu()
    with Workers(scratch.uri, logs, label) as workers, CpuAccount(scratch.name) as cpu:
        spawned, spawned_clock = time.perf_counter(), time.time()
        for _ in range(processes):
            workers.start_cli(*options)
        workers.wait(DRAIN_TIMEOUT)
        wall = time.perf_counter() - spawned
    workers.check()
    rows = starts(prefix)
    verify(rows, expected, prefix)
    first, last = rows[0].started_at, rows[-1].started_at
    per_worker = sorted(sum(1 for row in rows if row.worker_pid == process.pid)
                        for process in workers.processes)
    return {
        "label": label, "jobs": jobs, "processes": processes,
        "enqueue_wall": enqueue_wall, "defer": durations,
        "wall": wall, "first_start": first - spawned_clock, "span": last - first,
        "worker_cpu": children_cpu() - cpu_before, "cpu": cpu,
        "per_worker": per_worker,
    }


def startup(scratch, logs: Path, runs: int = 3) -> dict:
    """`flask worker --once` on an empty queue: the start-up and shut-down alone (median)."""
    walls, cpus = [], []
    for run in range(runs):
        cpu_before = children_cpu()
        with Workers(scratch.uri, logs, f"empty-{run}") as workers:
            started = time.perf_counter()
            workers.start_cli("--once")
            workers.wait(120)
            walls.append(time.perf_counter() - started)
            workers.check()
        cpus.append(children_cpu() - cpu_before)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "runs": runs}


def latency(scratch, cities, logs: Path, label: str, command: str, processes: int,
            rate: float, seconds: float) -> dict:
    """Workers started and warmed up first; then `rate` jobs a second for `seconds`."""
    prefix = f"lat-{label}"
    with Workers(scratch.uri, logs, label) as workers:
        registered = scalar("SELECT count(*) FROM jobs.procrastinate_workers")
        for _ in range(processes):
            if command == "cli":
                workers.start_cli()
            else:
                workers.start([sys.executable, str(Path(__file__).resolve()),
                               "--serve-worker-without-listen"])
        wait_for(lambda: scalar("SELECT count(*) FROM jobs.procrastinate_workers")
                 >= registered + processes, 60, f"{label}: workers registering")
        # Warm-up: each worker has its listener, pools and directory before the clock runs.
        warm, _ = defer_jobs(f"{prefix}-warm-", 4 * processes, cities)
        wait_for(lambda: len(starts(f"{prefix}-warm-")) == len(warm), 30, f"{label}: warm-up")
        time.sleep(1)

        count = int(rate * seconds)
        expected, late = {}, 0
        with CpuAccount(scratch.name) as account:
            began = time.perf_counter()
            for n in range(count):
                pause = began + n / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -0.05:
                    late += 1
                city = cities[n % len(cities)]
                key = f"{prefix}-run-{n:06d}"
                defer(TASK, city=city.slug, key=key, enqueued_at=time.time())
                expected[key] = city.schema
            offered = count / (time.perf_counter() - began)
            wait_for(lambda: len(starts(f"{prefix}-run-")) >= count, DRAIN_TIMEOUT,
                     f"{label}: all jobs started", poll=0.2)
            drained = time.perf_counter() - began
    workers.check()
    rows = starts(f"{prefix}-run-")
    verify(rows, expected, prefix)
    delays = [row.started_at - row.enqueued_at for row in rows]
    return {"label": label, "processes": processes, "rate": rate, "offered": offered,
            "late": late, "drained": drained, "delays": _common.percentiles(delays),
            "count": count, "cpu": account}


def breakdown(scratch, cities, count: int) -> list[list]:
    """Where one job's time goes, in this process (procrastinate's log lines off): the task
    body alone, the same transaction as raw SQL, and an in-process worker (one at a time, no
    LISTEN) on `count` no-op platform jobs, then on `count` bench.touch jobs."""
    rows = []

    def measure(label, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append([label, _common.ms(wall / count), _common.ms(cpu / count),
                     f"{count / wall:.0f}"])

    def body():
        for n in range(count):
            with tenant_context(cities[n % len(cities)].slug, scratch.app):
                touch(key=f"body-{n:06d}", enqueued_at=time.time())

    def raw():
        with psycopg.connect(scratch.uri, autocommit=True) as connection:
            for n in range(count):
                city = cities[n % len(cities)]
                with connection.transaction():
                    connection.execute(
                        "SELECT set_config('search_path', %s, true), set_config('role', %s, true)",
                        (f'"{city.schema}"', city.db_role))
                    now = time.time()
                    connection.execute("INSERT INTO public.bench_job_starts VALUES "
                                       "(%s, current_schema(), 0, %s, %s)",
                                       (f"raw-{n:06d}", now, now))

    def work():
        worker_app(scratch.app).run_worker(wait=False, install_signal_handlers=False,
                                           delete_jobs="successful", listen_notify=False)

    measure("task body: tenant_context + bench.touch (no queue)", body)
    measure("the same transaction as raw SQL (psycopg, one connection)", raw)
    for n in range(count):
        defer(NOOP_TASK, key=f"noop-{n:06d}")
    measure("in-process worker: no-op platform job (the queue alone)", work)
    defer_jobs("inproc-", count, cities)
    measure("in-process worker: bench.touch", work)
    return rows


# --- report ---------------------------------------------------------------------------------

def cores(account: CpuAccount) -> list[str]:
    """The CPU of a phase by whom, in cores busy on average."""
    return [f"{account.wall:.1f} s"] + [
        f"{account.seconds[group] / account.wall:.2f}"
        for group in ("workers", "postgres", "bench", "other", "idle")]


def report(args, base: dict, results_tp: list[dict], results_lat: list[dict],
           split: list[list]) -> None:
    enqueue = [result["enqueue_wall"] for result in results_tp]
    defers = _common.percentiles([d for result in results_tp for d in result["defer"]])
    _common.print_table(
        f"Enqueue: {args.jobs} jobs deferred one by one (tenants.jobs.defer), per run",
        ["runs", "jobs/s (each run)", "defer p50", "defer p95", "defer max"],
        [[len(enqueue), ", ".join(f"{args.jobs / wall:.0f}" for wall in enqueue),
          _common.ms(defers["p50"]), _common.ms(defers["p95"]), _common.ms(defers["max"])]],
    )
    rows = [[f"start-up only (empty queue, median of {base['runs']})", 0,
             f"{base['wall']:.2f} s", "", "", "", "", f"{base['cpu']:.2f} s", ""]]
    for result in results_tp:
        net_cpu = result["worker_cpu"] - result["processes"] * base["cpu"]
        rows.append([
            result["label"], result["jobs"],
            f"{result['wall']:.2f} s", f"{result['jobs'] / result['wall']:.0f}",
            f"{result['first_start']:.2f} s",
            f"{(result['jobs'] - 1) / result['span']:.0f}" if result["span"] else "",
            "/".join(map(str, result["per_worker"])),
            _common.ms(net_cpu / result["jobs"]),
            _common.ms(result["cpu"].seconds["postgres"] / result["jobs"]),
        ])
    _common.print_table(
        f"Throughput: {args.jobs} queued jobs worked off by `flask worker --once` "
        f"({args.cities} cities)",
        ["workers", "jobs", "wall (spawn→exit)", "jobs/s (wall)", "first job after",
         "jobs/s (first→last start)", "jobs per worker",
         "worker CPU per job (start-up off)", "PostgreSQL CPU per job"], rows,
    )
    rows = []
    for result in results_lat:
        delays = result["delays"]
        rows.append([
            result["label"], f"{result['rate']:.0f}/s ({result['offered']:.1f})",
            result["count"], _common.ms(delays["p50"]), _common.ms(delays["p95"]),
            _common.ms(delays["max"]), f"{result['drained']:.1f} s", result["late"],
        ])
    _common.print_table(
        f"Delay from enqueue to start, jobs deferred at a steady rate for {args.seconds:.0f} s "
        "(workers running and warmed up)",
        ["workers", "rate (offered)", "jobs", "p50", "p95", "max", "all started after",
         "defers late >50 ms"], rows,
    )
    rows = [[f"throughput: {result['label']}", *cores(result["cpu"])] for result in results_tp]
    rows += [[f"delay: {result['label']} @{result['rate']:.0f}/s", *cores(result["cpu"])]
             for result in results_lat]
    _common.print_table(
        f"Where the CPU went: cores busy on average ({os.cpu_count()} in all; `other` is "
        "the rest of the machine: other databases, other users)",
        ["phase", "wall", "workers", "PostgreSQL (scratch db)", "bench process", "other",
         "idle"], rows,
    )
    _common.print_table(
        f"One job, in this process ({BREAKDOWN_JOBS} each; worker one job at a time, "
        "without LISTEN or log lines)",
        ["measured", "wall per job", "CPU per job (this process)", "per second"], split,
    )


def serve_worker_without_listen() -> None:
    """A worker that never LISTENs (it polls for jobs); stops on SIGTERM."""
    app = worker_flask_app()
    worker_app(app).run_worker(wait=True, listen_notify=False, delete_jobs="successful")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000,
                        help="jobs queued for each throughput run (default 2000)")
    parser.add_argument("--cities", type=int, default=10,
                        help="cities the jobs are spread over (default 10)")
    parser.add_argument("--rates", default="20,100",
                        help="steady defer rates, jobs/s, for the delay runs (default 20,100)")
    parser.add_argument("--seconds", type=float, default=10,
                        help="how long each delay run defers (default 10)")
    parser.add_argument("--serve-worker-without-listen", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker_without_listen:
        serve_worker_without_listen()
        return
    # The bench process's own "Deferred 1 job" lines (INFO, one per defer) would bury the
    # output; the workers keep the app's logging as it is.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    rates = [float(rate) for rate in args.rates.split(",")]
    if args.jobs < 100 or args.cities < 1 or min(rates) <= 0 or args.seconds * min(rates) < 20:
        parser.error("need --jobs >= 100, --cities >= 1 and at least 20 jobs per delay run")

    results_tp, results_lat = [], []
    with tempfile.TemporaryDirectory(prefix="civic-bench-jobs-") as logs, \
            _common.scratch_app("jobs") as scratch:
        logs = Path(logs)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(BENCH_TABLE_DDL)
        cities = [create_tenant(f"jobs-{n:03d}", f"City {n}", [f"jobs-{n:03d}.bench.example"])
                  for n in range(args.cities)]
        base = startup(scratch, logs)
        for label, processes, concurrency in (("1 worker", 1, 1), ("2 workers", 2, 1),
                                              ("1 worker, --concurrency 4", 1, 4)):
            results_tp.append(throughput(scratch, cities, logs, label, processes,
                                         concurrency, args.jobs))
            print(f"throughput {label}: {args.jobs / results_tp[-1]['wall']:.0f} jobs/s "
                  f"(wall)", file=sys.stderr)
        runs = [(f"{n} worker{'s' if n > 1 else ''}", "cli", n, rate)
                for rate in rates for n in (1, 2)]
        runs.append(("1 worker, no LISTEN", "poll", 1, min(rates)))
        for label, command, processes, rate in runs:
            result = latency(scratch, cities, logs, f"{label} @{rate:.0f}", command, processes,
                             rate, args.seconds)
            result["label"] = label
            results_lat.append(result)
            print(f"delay {label} at {rate:.0f}/s: p50 {_common.ms(result['delays']['p50'])}",
                  file=sys.stderr)
        split = breakdown(scratch, cities, BREAKDOWN_JOBS)
        leftover = queue_counts()
    report(args, base, results_tp, results_lat, split)
    print(f"\nqueue after the runs (finished jobs are deleted): {leftover or 'empty'}")
    _common.describe_run()


if __name__ == "__main__":
    main()
