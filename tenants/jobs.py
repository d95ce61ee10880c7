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
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import procrastinate
from flask import Flask, current_app

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
    request_id = current_request_id()
    if request_id is not None:
        kwargs["request_id"] = request_id
    return opened_jobs_app().tasks[name].defer(**kwargs)


def defer_for_city(name: str, **kwargs) -> int:
    """Queue the city task `name` for the bound city (there must be one)."""
    return defer(name, city=current_tenant().slug, **kwargs)


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


async def _recover_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    stalled = list(await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=seconds_since_heartbeat))
    for job in stalled:
        log.warning("job %s (%s) lost its worker: queued again", job.id, job.task_name)
        await app.job_manager.retry_job(job)
    return len(stalled)


def recover_stalled_jobs(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    """Queue again the jobs of workers that stopped (no heartbeat for that long); for a worker
    about to start. Running workers do the same every minute (`jobs.recover_stalled`)."""
    async def recover():
        async with app.open_async():
            return await _recover_stalled(app, seconds_since_heartbeat)

    return asyncio.run(recover())


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
        return await _recover_stalled(
            context.app, context.app.flask_app.config["JOBS_STALLED_AFTER_SECONDS"])

    app.flask_app, app.opened_for_defer = flask_app, False
    return app


def init_app(flask_app: Flask, libpq_uri: str) -> None:
    flask_app.extensions["jobs_database_url"] = libpq_uri
    flask_app.extensions["jobs"] = _build_app(procrastinate.SyncPsycopgConnector, flask_app)
