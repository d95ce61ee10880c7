"""RFC 9457 problem details: `{"type", "title", "status", "detail", ...}` served as
`application/problem+json`. Titles and details are translated (the locale of an API request
is the client's Accept-Language, app/i18n)."""
from flask import jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"
# The problem types this API defines beyond plain HTTP statuses (type "about:blank").
PROBLEM_BASE = "https://civiccloud.example/problems/"


class Problem(HTTPException):
    """A refusal to answer as a problem document: `status`, a translated `title` and
    `detail`, an optional problem `kind` (its type URI's last part), extension members and
    response headers."""

    def __init__(self, status: int, detail: str, title: str | None = None,
                 kind: str | None = None, headers: dict | None = None, **extensions):
        super().__init__(description=detail)
        self.code, self.title, self.kind = status, title, kind
        self.extra_headers, self.extensions = headers or {}, extensions


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check what you sent.")),
        401: (_("Not signed in"), _("Send a valid access token of this city: Authorization: "
                                    "Bearer <token>.")),
        403: (_("Forbidden"), _("The access token does not allow this.")),
        404: (_("Not found"), _("There is nothing at this address. Check the address.")),
        405: (_("Method not allowed"), _("This address does not accept that method.")),
        409: (_("Conflict"), _("This can't be done in the current state.")),
        412: (_("Precondition failed"), _("What you changed has changed since you read it. "
                                          "Read it again.")),
        413: (_("Too large"), _("What you sent is too large.")),
        415: (_("Unsupported media type"), _("Send JSON (Content-Type: application/json).")),
        422: (_("Invalid input"), _("Some of what you sent is not valid: see `errors`.")),
        428: (_("Precondition required"), _("Send the ETag you read in If-Match.")),
        429: (_("Too many requests"), _("This client sent too many requests. Wait, then try "
                                        "again (see Retry-After).")),
        503: (_("Service unavailable"), _("The service is unavailable. Please try again "
                                          "later.")),
    }


def problem_response(error: HTTPException):
    """The problem document of any HTTP error: a Problem as it says; a webargs validation
    error (422) with its messages as `errors`; any other with its status's title and
    detail."""
    status = error.code or 500
    title, detail = _titles().get(status, (_("Something went wrong"), _(
        "An unexpected error occurred. It has been logged; please try again later.")))
    body = {"type": "about:blank", "status": status}
    headers = dict(error.get_headers()) if status != 405 else {"Allow": ", ".join(
        getattr(error, "valid_methods", None) or [])}
    headers.pop("Content-Type", None)
    if isinstance(error, Problem):
        body["title"], body["detail"] = error.title or title, error.description
        if error.kind:
            body["type"] = PROBLEM_BASE + error.kind
        body.update(error.extensions)
        headers.update(error.extra_headers)
    else:
        body["title"], body["detail"] = title, detail
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages:  # webargs: {location: {field: [messages]}}
            body["errors"] = messages
        if status == 429 and getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM_JSON
    response.headers.extend(headers)
    response.headers["Content-Language"] = _content_language()
    return response


def _content_language() -> str:
    locale = get_locale()
    return "zh-Hans" if locale and locale.language == "zh" else "en"
