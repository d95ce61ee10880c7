"""Error pages (HTML, or JSON for clients that ask for it) for every site.

A server error's page must render whatever broke: its transaction may be aborted, or the
database unreachable. So it rolls the session back first and renders without the context
processors (which load the signed-in user, the city's branding and modules): the plain layout,
in the city's language (the tenant directory is in memory). A database that can't be reached
(or dropped the connection) is a 503 with Retry-After, not a 500."""
import psycopg
from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from app.rest import is_api_request, problem_response
from app.web.input_checks import FormExpected, NulCharacter
from app.web.maintenance import MAINTENANCE_NOTICE, CityInMaintenance
from tenants.db import db
from tenants.routing import (
    CitySuspended,
    DatabaseUnavailable,
    InvalidHost,
    UnknownSite,
    requested_city,
)

# A connection refused, lost or timed out: SQLAlchemy's, or psycopg's own where no SQLAlchemy is
# in between (the job queue).
DATABASE_UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError)
# How long a client is asked to wait while the database is unreachable (a restart, a fail-over).
RETRY_AFTER_SECONDS = 30


def _messages(error: HTTPException) -> tuple[str, str]:
    if isinstance(error, UnknownSite):
        return _("Site not found"), _(
            "No city's site answers at this address. Check the address, or go to your city's "
            "own site."
        )
    if isinstance(error, NulCharacter | FormExpected):
        return _("Bad request"), str(error.description)
    if isinstance(error, DatabaseUnavailable):
        return _("Service unavailable"), _(
            "The service is briefly unavailable. Please try again in a minute; nothing you "
            "sent was saved.")
    if isinstance(error, InvalidHost):
        return _("Bad request"), _(
            "The address is not valid: a host name may be followed only by a colon and a port "
            "number. Check the address.")
    if isinstance(error, CityInMaintenance):
        return _("Under maintenance"), str(MAINTENANCE_NOTICE)
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


def _rolled_back() -> None:
    """End the failed request's transaction (nothing of it is kept); a database that can't be
    reached can't be rolled back either, and the page is rendered all the same."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  the error being reported is the one that counts
        current_app.logger.warning("could not roll back after a server error", exc_info=True)


def render_error(error: HTTPException):
    if isinstance(getattr(error, "original_exception", None), DATABASE_UNREACHABLE):
        error = DatabaseUnavailable()  # raised before a view ran (no handler of its own)
    # Refusals answered 503 on purpose (a suspended city, maintenance) keep the city's layout.
    server_error = error.code == 500 or isinstance(error, DatabaseUnavailable)
    if server_error:
        _rolled_back()
    if is_api_request():  # /api/… outside the API's blueprints (an unknown path, a 503 …)
        return problem_response(error)
    title, message = _messages(error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(
        error, DatabaseUnavailable) else {}
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=error.name, message=message, status=error.code), error.code, headers
    tenant = g.get("tenant") or requested_city()
    context = {"code": error.code, "title": title, "message": message, "tenant": tenant}
    if server_error:  # without the context processors: they query the database
        page = current_app.jinja_env.get_template("errors/error.html").render(context)
    else:
        page = render_template("errors/error.html", **context)
    return page, error.code, headers


def database_unreachable(error: Exception):
    current_app.logger.error("database unreachable during %s %s: %s", request.method,
                             request.path, error)
    return render_error(DatabaseUnavailable())


def init_app(app) -> None:
    # Unhandled exceptions arrive as InternalServerError, after Flask has logged them.
    app.register_error_handler(HTTPException, render_error)
    for unreachable in DATABASE_UNREACHABLE:
        app.register_error_handler(unreachable, database_unreachable)
