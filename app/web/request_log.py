"""One log line per request (JSON with LOG_FORMAT=json): its id, method, route, status,
duration, the city and the kind of user; and the request id in the `X-Request-ID` answer header.

The id is the proxy's `X-Request-ID` when the app sits behind trusted proxies
(PROXY_TRUSTED_HOPS) and the value looks like an id; otherwise a new one: a client must not
choose the id under which its requests are logged. Every log line of the request, and of the
jobs it defers, carries it (tenants/log_context.py, tenants/jobs.py).
"""
import logging
import time

from flask import Flask, current_app, g, request, session

from tenants.log_context import bind_request_id, new_request_id, valid_request_id

log = logging.getLogger("civic.request")

HEADER = "X-Request-ID"


def user_kind() -> str:
    """Who made the request, from what the request itself loaded (never a query of its own):
    vendor staff, a city's staff member, a signed-in citizen, or anonymous."""
    if g.get("platform_staff") is not None:
        return "vendor"
    if g.get("admin_staff") is not None:
        return "staff"
    if "_user_id" in session:
        return "citizen"
    return "anonymous"


def route() -> str:
    """The rule that matched (/announcements/<int:id>), not the path: bounded, and free of
    what a visitor typed."""
    return request.url_rule.rule if request.url_rule is not None else "-"


def _start() -> None:
    g.request_started = time.perf_counter()
    proposed = request.headers.get(HEADER) if current_app.config["PROXY_TRUSTED_HOPS"] else None
    bind_request_id(proposed if valid_request_id(proposed) else new_request_id())


def _log(response):
    started = g.get("request_started")
    if started is None:  # refused before the first before_request function ran
        return response
    duration = time.perf_counter() - started
    response.headers[HEADER] = g.request_id
    log.info("%s %s %s", request.method, route(), response.status_code, extra={
        "method": request.method, "route": route(), "status": response.status_code,
        "duration_ms": round(duration * 1000, 2), "user": user_kind()})
    return response


def init_app(app: Flask) -> None:
    # First of all before_request functions (the site's binding may refuse the request), and
    # the last after_request one to run (Flask runs them in reverse order of registration).
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _log)
