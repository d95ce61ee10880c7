"""Every log line names the city it was written for (`city=-` when none is bound)."""
import logging

from flask import g, has_app_context

LOG_FORMAT = "%(asctime)s %(levelname)s city=%(city)s %(name)s: %(message)s"


class CityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        tenant = g.get("tenant") if has_app_context() else None
        record.city = tenant.slug if tenant is not None else "-"
        return True


def init_app(app) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for handler in root.handlers:
        if not any(isinstance(f, CityFilter) for f in handler.filters):
            handler.addFilter(CityFilter())
    for chatty in ("pgserver", "alembic", "procrastinate.blueprints", "procrastinate.periodic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
