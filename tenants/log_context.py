"""Every log line names the city it was written for (`city=-` when none is bound) and the
request it belongs to (`request_id`, `-` when none): a request's id goes with the jobs it defers
(tenants/jobs.py), so one citizen's action can be followed from page to job to message.

LOG_FORMAT json (the default): one JSON object a line (python-json-logger), for a log
collector; text: one readable line.
"""
import logging
import re
import uuid

from flask import g, has_app_context
from pythonjsonlogger.json import JsonFormatter

LOG_FORMAT = "%(asctime)s %(levelname)s city=%(city)s request=%(request_id)s %(name)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", "city", "request_id")
# What a request id taken from a proxy may look like; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> bool:
    return value is not None and REQUEST_ID.fullmatch(value) is not None


def bind_request_id(request_id: str) -> None:
    """Name the request (or the job, with its request's id) the current context works for."""
    g.request_id = request_id


def current_request_id() -> str | None:
    return g.get("request_id") if has_app_context() else None


class CityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        tenant = g.get("tenant") if has_app_context() else None
        record.city = tenant.slug if tenant is not None else "-"
        record.request_id = current_request_id() or "-"
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(list(JSON_FIELDS), rename_fields={"asctime": "time",
                                                           "levelname": "level"})


def init_app(app) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        handler.setFormatter(json_formatter() if app.config["LOG_FORMAT"] == "json"
                             else logging.Formatter(LOG_FORMAT))
    for handler in root.handlers:
        if not any(isinstance(f, CityFilter) for f in handler.filters):
            handler.addFilter(CityFilter())
    for chatty in ("pgserver", "alembic", "procrastinate.blueprints", "procrastinate.periodic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
