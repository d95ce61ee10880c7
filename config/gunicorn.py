"""gunicorn's settings, for `make run` and production alike: `gunicorn -c config/gunicorn.py
wsgi:app` (docs/deploy.md).

gevent workers: a connection that sends its request a byte at a time, or none at all, holds a
greenlet and a socket, not a worker, so hundreds of slow or idle clients cannot keep the others
waiting (tests/config/test_gunicorn.py). gevent patches the standard library when the worker
starts, before it loads the app: this file must import nothing that imports psycopg, or
psycopg would pick its blocking wait function (it picks one when it is first imported).

gevent has no timeout for a request's headers or body: a client may hold its greenlet for as
long as it trickles bytes. Production puts a buffering proxy in front (docs/deploy.md).

A rolling restart (`kill -HUP` of the master): gunicorn alone stops the old workers as soon as
it has forked the new ones, so nothing answers while those load the app (seconds; requests
wait in the listen queue). Here the old workers go on serving, and each new worker, once it
has loaded the app, stops an old one (on_reload, post_worker_init, child_exit below).

| variable | meaning | default |
|---|---|---|
| BIND | address to listen on | 127.0.0.1:$PORT (PORT: 5000) |
| WEB_WORKERS | worker processes (about one per core) | 2 |
| WEB_WORKER_CONNECTIONS | connections each worker holds at once | 1000 |
| WEB_TIMEOUT | seconds a worker may stay silent before it is restarted | 30 |
| PROMETHEUS_MULTIPROC_DIR | the workers' metrics files (emptied at start) | instance/metrics |
"""
import contextlib
import os
import shutil
import signal

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gevent"
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", "1000"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# No gunicornc control socket: nothing uses it, and every master of one user would share its path.
control_socket_disable = True
# One JSON line per request comes from the app (app/web/request_log.py), with the city, the
# request id and the kind of user: gunicorn's access log would say less, twice.
accesslog = None
errorlog = "-"

# prometheus-client's multiprocess mode: each worker writes its counters to files there and
# /metrics adds them up. Set before any worker imports prometheus_client.
metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                 "instance", "metrics"))


def on_starting(server):
    """Counts of a previous run's workers must not be added to this run's."""
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


# The workers a rolling restart replaces, oldest first, and the age (gunicorn's spawn count)
# after which workers are their replacements. Set in the master; a new worker has a copy.
handover = {"old_pids": [], "new_after_age": 0}


def on_reload(server):
    """Before the new workers are forked: room for them beside the old ones, so that gunicorn
    stops none of those yet."""
    handover["old_pids"] = sorted(server.WORKERS, key=lambda pid: server.WORKERS[pid].age)
    handover["new_after_age"] = server.worker_age
    server.num_workers = len(handover["old_pids"]) + server.cfg.workers


def post_worker_init(worker):
    """Refuse to serve if psycopg was imported before gevent patched `select`: its C wait
    function would block the whole worker on every query. A worker of a rolling restart,
    ready to serve, then stops its share of the old workers (gracefully: they finish their
    requests)."""
    from gevent import monkey
    from psycopg import waiting

    if monkey.is_module_patched("select") and waiting.wait is getattr(waiting, "wait_c", None):
        worker.log.critical("psycopg was imported before gevent patched the standard library: "
                            "it would block every greenlet of this worker; exiting")
        raise SystemExit(3)
    position = worker.age - handover["new_after_age"] - 1
    if 0 <= position < worker.cfg.workers:
        for pid in handover["old_pids"][position::worker.cfg.workers]:
            worker.log.info("rolling restart: worker %s replaces worker %s", worker.pid, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
    if worker.pid in handover["old_pids"]:  # replaced: its room is not needed any more
        handover["old_pids"].remove(worker.pid)
        server.num_workers -= 1
