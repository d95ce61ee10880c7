"""Prometheus metrics (prometheus-client), in multiprocess mode under gunicorn: each worker
writes its counts to files in PROMETHEUS_MULTIPROC_DIR (config/gunicorn.py sets and empties it)
and a scrape adds up every worker's. Without that variable (tests, `flask` commands) the counts
are this process's.

Labels stay bounded: routes are URL rules, not paths; methods outside the usual few are OTHER;
the city is a label of one counter only (one series per city), never of a histogram.
The queue's jobs by task and state are read from the database at scrape time.
"""
import hmac
import logging
import os
import time

from flask import Flask, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event

from tenants.db import db
from tenants.jobs import job_counts

log = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter("civic_http_requests", "Requests answered, by method, route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("civic_http_request_duration_seconds",
                    "Time from the first before_request to the answer, by route", ["route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CITY_REQUESTS = Counter("civic_city_requests", "Requests answered for each city", ["city"])
POOL_IN_USE = Gauge("civic_db_pool_connections_in_use",
                    "Database connections checked out of the app's pools",
                    multiprocess_mode="livesum")
POOL_CAPACITY = Gauge("civic_db_pool_capacity",
                      "Connections the app's pools may open (pool size and overflow)",
                      multiprocess_mode="livesum")


class JobQueueCollector:
    """Jobs by task and state, and the queue's depth (jobs waiting), read at scrape time."""

    def collect(self):
        jobs = GaugeMetricFamily("civic_jobs", "Jobs in the queue by task and state",
                                 labels=["task", "state"])
        depth = GaugeMetricFamily("civic_job_queue_depth", "Jobs waiting to be run")
        counts = job_counts()
        for (task, state), number in sorted(counts.items()):
            jobs.add_metric([task, state], number)
        depth.add_metric([], sum(n for (_task, state), n in counts.items() if state == "todo"))
        yield jobs
        yield depth


def _observe(response):
    started = g.get("request_started")  # set by app/web/request_log.py
    if started is None:
        return response
    route = request.url_rule.rule if request.url_rule is not None else "-"
    method = request.method if request.method in METHODS else "OTHER"
    REQUESTS.labels(method, route, str(response.status_code)).inc()
    LATENCY.labels(route).observe(time.perf_counter() - started)
    tenant = g.get("tenant")
    if tenant is not None:
        CITY_REQUESTS.labels(tenant.slug).inc()
    return response


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, int, dict]:
    """GET /metrics on the platform host, with `Authorization: Bearer <METRICS_TOKEN>`; 404
    when no token is configured, 401 without the right one."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return b"a bearer token (METRICS_TOKEN) is required\n", 401, {
            "WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"}
    registry = _registry()
    output = generate_latest(registry)
    try:
        output += generate_latest(_queue_registry())
    except Exception:  # the other metrics still answer; the log says why the queue's don't
        log.exception("metrics: the job queue could not be read")
    return output, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def _queue_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(JobQueueCollector())
    return registry


def init_app(app: Flask) -> None:
    app.after_request(_observe)
    with app.app_context():
        engine = db.engine
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    POOL_CAPACITY.inc(options.get("pool_size", 5) + options.get("max_overflow", 10))
    event.listen(engine, "checkout", lambda *_args: POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_args: POOL_IN_USE.dec())
