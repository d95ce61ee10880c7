"""Error pages (HTML, or JSON for clients that ask for it) for every site."""
import logging

import psycopg
import sqlalchemy as sa
from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.web.maintenance import MAINTENANCE_NOTICE, CityInMaintenance
from tenants.db import db
from tenants.routing import (
    CitySuspended,
    DatabaseUnavailable,
    InvalidHost,
    UnknownSite,
    current_site,
    requested_city,
)

log = logging.getLogger(__name__)

# How long a client is asked to wait while the database is unreachable (a restart, a fail-over).
DATABASE_RETRY_AFTER_SECONDS = 30


def _messages(error: HTTPException) -> tuple[str, str]:
    if isinstance(error, UnknownSite):
        return _("Site not found"), _(
            "No city's site answers at this address. Check the address, or go to your city's "
            "own site."
        )
    if isinstance(error, InvalidHost):
        return _("Bad request"), _(
            "The address is not valid: a host name may be followed only by a colon and a port "
            "number. Check the address.")
    if isinstance(error, CityInMaintenance):
        return _("Under maintenance"), str(MAINTENANCE_NOTICE)
    if isinstance(error, DatabaseUnavailable):
        return _("Service unavailable"), _(
            "The service cannot reach its database for the moment. Please try again in a "
            "minute.")
    if isinstance(error, CitySuspended):
        return _("Service suspended"), _(
            "This city's online services are suspended for the time being. Please try again "
            "later or contact the city's service centre."
        )
    if error.code == 429 and getattr(getattr(error, "limit", None), "error_message", None):
        return _("Too many attempts"), str(error.description)  # what to do, said by the limit
    titles = {
        400: (_("Bad request"), _("The request could not be understood. Check what you sent.")),
        403: (_("Forbidden"), _("You do not have permission to open this page.")),
        404: (_("Page not found"), _("There is no page at this address. Check the address.")),
        405: (_("Method not allowed"), _("This page does not accept that kind of request.")),
        410: (_("No longer available"), _("What was here has been deleted for good, as "
                                          "planned, and cannot be fetched any more.")),
        413: (_("Too large"), _("What you sent is too large. Send smaller files, one at a "
                                 "time.")),
        429: (_("Too many attempts"), _("Too many attempts in a short time. Wait a few minutes, "
                                        "then try again.")),
        503: (_("Service unavailable"), _("The service is unavailable. Please try again later.")),
    }
    return titles.get(error.code, (_("Something went wrong"), _(
        "An unexpected error occurred. It has been logged; please try again later."
    )))


def render_error(error: HTTPException):
    if isinstance(error, DatabaseUnavailable):
        return _database_unavailable_page()
    title, message = _messages(error)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=error.name, message=message, status=error.code), error.code
    tenant = g.get("tenant") or requested_city()
    return render_template("errors/error.html", code=error.code, title=title, message=message,
                           tenant=tenant), error.code


def database_unavailable(error: Exception):
    """503 with Retry-After, not 500, while the database does not answer: the page is made
    without it (the branding falls back to the defaults)."""
    log.warning("database unreachable during %s %s: %s", request.method, request.path, error)
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:  # the connection is gone already; the pool drops it
        pass
    return _database_unavailable_page()


def _database_unavailable_page():
    unavailable = DatabaseUnavailable()
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    title, message = _messages(unavailable)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=unavailable.name, message=message, status=503), 503, headers
    # The plain layout, rendered without the context processors: a city's pages read its
    # modules and the signed-in account from the database.
    page = current_app.jinja_env.get_template("errors/error.html").render(
        code=503, title=title, message=message, tenant=g.get("tenant") or current_site().tenant)
    return page, 503, headers


def init_app(app) -> None:
    # Unhandled exceptions arrive as InternalServerError, after Flask has logged them.
    app.register_error_handler(HTTPException, render_error)
    # A connection refused, lost or timed out (SQLAlchemy's, or psycopg's own where no
    # SQLAlchemy is in between).
    app.register_error_handler(sa.exc.OperationalError, database_unavailable)
    app.register_error_handler(psycopg.OperationalError, database_unavailable)
