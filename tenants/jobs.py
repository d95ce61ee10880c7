"""Background jobs with procrastinate, on the same PostgreSQL (its tables in schema `jobs`).

Every job says which city it is for. A city task is deferred with `city=<slug>` and runs inside
`tenant_context(city)`, so its database work happens under that city's role and schema; a
platform task runs with no city bound, so touching city data raises TenantNotBound.

Tasks are declared once, by name, with `city_task` or `platform_task` (optionally periodic:
`cron=`); `init_app` binds every declared task to the procrastinate App of a Flask app, so each
Flask app (and each test app) has tasks of its own. Defer by name: `defer_for_city(name, …)`.
A periodic sweep over the cities is a platform task that calls `ask_active_cities`.
"""
import asyncio
import contextlib
import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import procrastinate
import psycopg
from flask import Flask, current_app
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

from tenants.context import CityRetired, current_tenant, directory, tenant_context
from tenants.log_context import bind_request_id, current_request_id
from tenants.models import ACTIVE

log = logging.getLogger(__name__)

JOBS_SCHEMA = "jobs"


@dataclass(frozen=True)
class TaskDefinition:
    name: str
    function: Callable
    for_city: bool
    cron: str | None = None
    options: dict = field(default_factory=dict)


DECLARED: dict[str, TaskDefinition] = {}


def _declare(name: str, for_city: bool, cron: str | None, options: dict):
    def declare(function):
        if name in DECLARED and DECLARED[name].function is not function:
            raise ValueError(f"a task named {name!r} is declared twice")
        DECLARED[name] = TaskDefinition(name, function, for_city, cron, options)
        return function

    return declare


def city_task(name: str, *, cron: str | None = None, **options):
    """Declare a task of one city; it is deferred with city=<slug> (see defer_for_city)."""
    if cron is not None:
        raise ValueError("periodic tasks belong to the platform: declare a platform_task that "
                         "defers a city task for each city")
    return _declare(name, True, cron, options)


def platform_task(name: str, *, cron: str | None = None, **options):
    """Declare a task that belongs to no city (cron="*/5 * * * *" makes it periodic)."""
    return _declare(name, False, cron, options)


def _runner(definition: TaskDefinition):
    if definition.for_city:
        def run(context, city: str, request_id: str | None = None, **kwargs):
            try:
                with tenant_context(city, context.app.flask_app):
                    if request_id is not None:
                        bind_request_id(request_id)
                    return definition.function(**kwargs)
            except CityRetired:  # queued just before the city was retired: nothing to do
                log.warning("%s not run: the city %s is retired", definition.name, city)
                return None
    else:
        def run(context, timestamp: int | None = None, request_id: str | None = None,
                **kwargs):  # periodic: a timestamp
            with context.app.flask_app.app_context():
                if request_id is not None:
                    bind_request_id(request_id)
                return definition.function(**kwargs)
    run.__name__ = run.__qualname__ = definition.name.replace(".", "_")
    return run


def jobs_app(flask_app: Flask | None = None) -> procrastinate.App:
    """The App that defers jobs (synchronous, its pool opened on first use in each process)."""
    return (flask_app or current_app).extensions["jobs"]


def worker_app(flask_app: Flask | None = None) -> procrastinate.App:
    """A new App to run a worker with (asynchronous: procrastinate closes an App's synchronous
    connector when it opens the asynchronous one, so deferring keeps an App of its own)."""
    flask_app = flask_app or current_app
    return _build_app(procrastinate.PsycopgConnector, flask_app)


_opening = threading.Lock()


def opened_jobs_app() -> procrastinate.App:
    """jobs_app(), its pool opened on the first use in each process (never at start-up, before
    a pre-forking server forks)."""
    app = jobs_app()
    if not app.opened_for_defer:
        with _opening:
            if not app.opened_for_defer:
                app.open()
                app.opened_for_defer = True
    return app


def defer(name: str, **kwargs) -> int:
    """Queue the task `name`; returns the job id. The job's log lines carry the id of the
    request (or job) that deferred it."""
    return opened_jobs_app().tasks[name].defer(**_with_request_id(kwargs))


def _with_request_id(kwargs: dict) -> dict:
    request_id = current_request_id()
    return kwargs if request_id is None else {**kwargs, "request_id": request_id}


def defer_for_city(name: str, **kwargs) -> int:
    """Queue the city task `name` for the bound city (there must be one)."""
    return defer(name, city=current_tenant().slug, **kwargs)


def defer_once(name: str, lock: str, **kwargs) -> int | None:
    """Queue the task `name` unless a job with the queueing `lock` is still waiting; the new
    job's id, or None."""
    try:
        return opened_jobs_app().tasks[name].configure(queueing_lock=lock).defer(
            **_with_request_id(kwargs))
    except AlreadyEnqueued:
        return None


def job_counts() -> dict[tuple[str, str], int]:
    """{(task name, state): jobs} of the queue now (its metrics; raises if it is unreachable)."""
    rows = opened_jobs_app().connector.execute_query_all(
        "SELECT task_name, status::text AS state, count(*) AS jobs FROM procrastinate_jobs "
        "GROUP BY 1, 2")
    return {(row["task_name"], row["state"]): row["jobs"] for row in rows}


def ask_active_cities(due: Callable[[], bool], ask: Callable[[], object]) -> int:
    """A periodic platform task's sweep: in every active city (bound in turn), `ask()` (defer
    the city's task) where `due()`; returns how many cities were asked."""
    asked = 0
    for tenant in directory().all():
        if tenant.status != ACTIVE:
            continue
        with tenant_context(tenant):
            if due():
                ask()
                asked += 1
    return asked


# One stalled job (its worker stopped): back to the queue, unless a job with the same queueing
# lock already waits there (a city's deliveries, `deliver:<city>`): that one will do the same
# work, and putting this one back would break the lock's unique index, so it is cancelled.
# Only a job still `doing` is touched, under its row lock: any number of workers may recover at
# once, and again, and each job changes once. (An abort asked of it fails it, as procrastinate's
# own retry does.)
_RECOVER_STALLED_JOB_SQL = """
UPDATE procrastinate_jobs AS job
   SET status = (CASE
           WHEN job.abort_requested THEN 'failed'
           WHEN EXISTS (SELECT 1 FROM procrastinate_jobs AS waiting
                         WHERE waiting.queueing_lock = job.queueing_lock
                           AND waiting.status = 'todo') THEN 'cancelled'
           ELSE 'todo' END)::procrastinate_job_status,
       attempts = job.attempts + 1,
       scheduled_at = now()
 WHERE job.id = %(job_id)s AND job.status = 'doing'
RETURNING job.status::text AS status
"""
QUEUED_AGAIN, SUPERSEDED = "todo", "cancelled"


async def _recover_job(app: procrastinate.App, job) -> str | None:
    """The job's new status, or None if another worker recovered it first."""
    for _ in range(3):
        try:
            rows = await app.connector.execute_query_all_async(
                _RECOVER_STALLED_JOB_SQL, job_id=job.id)
        except UniqueViolation as error:
            if error.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                raise
            continue  # a job with its lock was queued meanwhile: now it is seen, and waits
        return rows[0]["status"] if rows else None
    log.warning("job %s (%s) not recovered: its queueing lock keeps changing hands; the next "
                "sweep tries again", job.id, job.task_name)
    return None


async def _recover_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> Counter:
    recovered: Counter = Counter()
    for job in await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=seconds_since_heartbeat):
        status = await _recover_job(app, job)
        if status == QUEUED_AGAIN:
            log.warning("job %s (%s) lost its worker: queued again", job.id, job.task_name)
        elif status == SUPERSEDED:
            log.warning("job %s (%s) lost its worker: cancelled, a waiting job with its "
                        "queueing lock %s does its work", job.id, job.task_name,
                        job.queueing_lock)
        elif status is not None:
            log.warning("job %s (%s) lost its worker: %s (an abort was asked)", job.id,
                        job.task_name, status)
        if status is not None:
            recovered[status] += 1
    return recovered


def recover_stalled_jobs(app: procrastinate.App, seconds_since_heartbeat: float) -> Counter:
    """Deal with the jobs of workers that stopped (no heartbeat for that long): how many jobs
    went to each status (QUEUED_AGAIN, SUPERSEDED, `failed`). Safe to run any number of times,
    concurrently. Running workers do the same every minute (`jobs.recover_stalled`)."""
    async def recover():
        async with app.open_async():
            return await _recover_stalled(app, seconds_since_heartbeat)

    return asyncio.run(recover())


# What a lost database looks like from a worker: procrastinate's wrapped errors, psycopg's own
# (a pool that cannot open: PoolTimeout is one), and the socket's.
DATABASE_LOST = (ConnectorException, psycopg.OperationalError, OSError)


def run_worker(app: procrastinate.App, *, stalled_after: float, reconnect_max_seconds: float,
               on_recovered: Callable[[Counter], None] = lambda recovered: None,
               **options) -> None:
    """Run a worker until SIGINT or SIGTERM (after its running jobs finish). Each start first
    recovers stalled jobs (`on_recovered` hears how many). When the database goes away (the
    worker's loop fails, or it cannot connect), it starts again after 1 s, then 2, 4, … up to
    `reconnect_max_seconds`, until the database answers; it does not exit."""
    asyncio.run(_run_worker(app, stalled_after, reconnect_max_seconds, on_recovered, options))


async def _run_worker(app, stalled_after, reconnect_max_seconds, on_recovered, options) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    delay = 1.0
    while not stop.is_set():
        try:
            async with app.open_async():
                on_recovered(await _recover_stalled(app, stalled_after))
                delay = 1.0  # connected: a later loss starts the back-off afresh
                worker = asyncio.create_task(
                    app.run_worker_async(install_signal_handlers=False, **options))
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not worker.done():  # asked to stop: procrastinate lets running jobs end
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
                    return
                worker.result()  # raises what stopped it
                if not options.get("wait", True):
                    return
                # A failed side task (heartbeat, listener) stops procrastinate's worker quietly.
                log.warning("the worker stopped by itself; starting it again in %.0f s", delay)
        except DATABASE_LOST as error:
            if not options.get("wait", True):
                raise  # --once: say so and exit, a script is waiting
            log.warning("the job queue's database is unreachable (%s: %s); trying again in "
                        "%.0f s", type(error).__name__, error, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, reconnect_max_seconds)


def _build_app(connector_class, flask_app: Flask) -> procrastinate.App:
    connector = connector_class(
        conninfo=flask_app.extensions["jobs_database_url"],
        # procrastinate's own pool: its SQL names no schema, so its connections look in `jobs`.
        kwargs={"options": f"-c search_path={JOBS_SCHEMA}"},
        min_size=1, max_size=flask_app.config["JOBS_POOL_SIZE"],
    )
    app = procrastinate.App(connector=connector)
    for definition in DECLARED.values():
        task = app.task(name=definition.name, pass_context=True,
                        **definition.options)(_runner(definition))
        if definition.cron:
            app.periodic(cron=definition.cron, periodic_id=definition.name)(task)

    @app.periodic(cron="* * * * *", periodic_id="jobs.recover_stalled")
    @app.task(name="jobs.recover_stalled", pass_context=True)
    async def recover_stalled(context, timestamp: int) -> int:
        """Every minute, in whichever worker runs it: jobs of dead workers go back."""
        recovered = await _recover_stalled(
            context.app, context.app.flask_app.config["JOBS_STALLED_AFTER_SECONDS"])
        return recovered.total()

    app.flask_app, app.opened_for_defer = flask_app, False
    return app


def init_app(flask_app: Flask, libpq_uri: str) -> None:
    flask_app.extensions["jobs_database_url"] = libpq_uri
    flask_app.extensions["jobs"] = _build_app(procrastinate.SyncPsycopgConnector, flask_app)
