"""Checks every request's input once, before any view sees it, for what no field of the
platform can hold: a NUL character (PostgreSQL refuses \\x00 in text, so a value carrying one
would fail deep in a query as a server error). Such a request gets 400 and a page saying what
to fix; nothing has been written. So does a JSON body sent to a page rather than the API (415).
Numbers beyond the database's integers are handled where they are read: `<int:…>` route
parameters (tenants.routing.BigintConverter) and `bigint_arg`."""
from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.rest import is_api_request

BIGINT_MAX = 2**63 - 1
READ_METHODS = ("GET", "HEAD", "OPTIONS")


class NulCharacter(BadRequest):
    description = _l("What you sent contains a NUL character (\\0), which no field accepts. "
                     "Remove it and send again.")


class FormExpected(UnsupportedMediaType):
    description = _l("This address takes what a web form sends, not JSON: send the form's "
                     "fields as application/x-www-form-urlencoded or multipart/form-data.")


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _request_texts():
    yield request.path
    yield from request.args.items(multi=True)
    if request.method not in READ_METHODS:
        yield from request.form.items(multi=True)
        yield from ((name, upload.filename or "") for name, upload in
                    request.files.items(multi=True))
        if request.is_json:
            yield request.get_json(silent=True)


def refuse_nul_characters() -> None:
    """before_request: 400 for a NUL character in the path, the query, a form field (name or
    value), an upload's file name or a JSON body."""
    for text in _request_texts():
        if _has_nul(list(text) if isinstance(text, tuple) else text):
            raise NulCharacter()


def refuse_json_outside_the_api() -> None:
    """before_request: 415 for a JSON body sent to a page. Flask-WTF would take it for the
    form's data and hand the fields numbers, booleans, lists and objects where they read text
    (a server error); the pages take forms, only the API (/api/) takes JSON."""
    if request.method not in READ_METHODS and request.is_json and not is_api_request():
        raise FormExpected()


def bigint_arg(value: str) -> int:
    """`type=` of `request.args.get` for numbers kept in or compared with BIGINT columns: a
    number beyond them is no number (the default applies), never a query PostgreSQL refuses."""
    number = int(value)
    if not -BIGINT_MAX <= number <= BIGINT_MAX:
        raise ValueError(f"{value!r} is beyond a BIGINT")
    return number


def init_app(app) -> None:
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_json_outside_the_api)
