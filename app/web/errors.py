"""Error pages (HTML, or JSON for clients that ask for it) for every site."""
from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.rest import is_api_request, problem_response
from app.web.maintenance import MAINTENANCE_NOTICE, CityInMaintenance
from tenants.routing import CitySuspended, InvalidHost, UnknownSite, requested_city


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
    if is_api_request():  # /api/… outside the API's blueprints (an unknown path, a 503 …)
        return problem_response(error)
    title, message = _messages(error)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=error.name, message=message, status=error.code), error.code
    tenant = g.get("tenant") or requested_city()
    return render_template("errors/error.html", code=error.code, title=title, message=message,
                           tenant=tenant), error.code


def init_app(app) -> None:
    # Unhandled exceptions arrive as InternalServerError, after Flask has logged them.
    app.register_error_handler(HTTPException, render_error)
