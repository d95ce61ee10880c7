"""For load balancers and orchestrators, on every host:

- GET /healthz: 200 when the process answers (it asks nothing of the database: a database
  outage must not make an orchestrator restart every web process);
- GET /readyz: 200 when this process can serve: the database answers, the platform schema and
  every city's schema are at their migrations' head, and the job queue answers; else 503 with
  what is wrong.
"""
import logging

from flask import Blueprint, jsonify

from tenants.context import directory
from tenants.db import db
from tenants.jobs import job_counts
from tenants.migrations import cities_behind, platform_behind

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

# Shown in /readyz; the full list goes to the log.
CITIES_SHOWN = 20


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _database_checks() -> dict:
    with db.engine.connect() as connection:
        checks = {"database": "ok",
                  "platform_schema": "behind" if platform_behind(connection) else "ok"}
        if checks["platform_schema"] == "ok":
            behind = cities_behind(connection, directory().all())
            checks["city_schemas"] = "ok" if not behind else {
                "behind": len(behind), "cities": behind[:CITIES_SHOWN]}
    return checks


@bp.get("/readyz")
def readyz():
    try:
        checks = _database_checks()
    except Exception:  # whatever the cause, the answer is "not ready"; the log says why
        log.exception("readiness: the database check failed")
        checks = {"database": "unreachable"}
    try:
        job_counts()
        checks["job_queue"] = "ok"
    except Exception:
        log.exception("readiness: the job queue check failed")
        checks["job_queue"] = "unreachable"
    ready = all(value == "ok" for value in checks.values()) and "city_schemas" in checks
    return jsonify(status="ready" if ready else "not ready", **checks), 200 if ready else 503
