"""Languages, time zones and formatting: Simplified Chinese and English ship; each city has a
default language (platform.tenants.locale) and offers one or both (its branding).

The page's language is, in this order and among the city's offered languages: the visitor's
choice in the switcher (kept in the session), the signed-in citizen's own language, the
browser's Accept-Language (a first visit), the city's default. A new account keeps the
page's language. Dates and times are shown in the city's time zone and money (kept as integer
fen) as yuan, both formatted for the page's language.
"""
from datetime import date, datetime, time

import flask_babel
from flask import g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from app.branding import offered_languages
from app.extensions import babel
from app.money import format_fen
from tenants.routing import requested_city

LANGUAGES = {"zh_Hans": "简体中文", "en": "English"}
_PRIMARY_TAG = {"zh": "zh_Hans", "en": "en"}
FALLBACK_LOCALE = "zh_Hans"


API_PREFIX = "/api/"


def _offered() -> list[str]:
    return offered_languages()


def _signed_in_user_locale() -> str | None:
    """The signed-in citizen's language, on a city's site only (accounts are the city's)."""
    if not has_request_context() or g.get("tenant") is None:
        return None

    try:
        return getattr(current_user, "locale", None) if current_user.is_authenticated else None
    except Exception:  # an error page rendered because the database failed
        return None


class TranslatedError(Exception):
    """An error that says what went wrong in the page's language: `message`, the class's own
    (lazy_gettext) or the one given."""
    message = None

    def __init__(self, message=None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


def select_locale() -> str:
    offered = _offered()
    if has_request_context() and request.path.startswith(API_PREFIX):
        # The REST API has no session: it answers in the client's language (Accept-Language)
        # among the city's, else the city's own.
        best = request.accept_languages.best_match(
            [tag for tag, code in _PRIMARY_TAG.items() if code in offered])
        if best:
            return _PRIMARY_TAG[best]
    candidates = []
    if has_request_context():
        candidates.append(session.get("locale"))
    candidates.append(_signed_in_user_locale())
    if has_request_context():
        best = request.accept_languages.best_match(
            [tag for tag, code in _PRIMARY_TAG.items() if code in offered])
        candidates.append(_PRIMARY_TAG.get(best))
    tenant = g.get("tenant") or requested_city()
    if tenant is not None:
        candidates.append(tenant.locale)
    for candidate in candidates:
        if candidate in offered:
            return candidate
    return FALLBACK_LOCALE if FALLBACK_LOCALE in offered else offered[0]


def select_timezone() -> str | None:
    tenant = g.get("tenant") or requested_city()
    return tenant.timezone if tenant is not None else None


def html_lang(locale) -> str:
    """BCP 47 tag for <html lang>: zh_Hans -> zh-Hans."""
    return str(locale).replace("_", "-")


# -- formatting ----------------------------------------------------------------------------

def format_city_date(value: date | datetime | None, format: str = "medium") -> str:
    """A date (a datetime is first moved to the city's time zone)."""
    if value is None:
        return ""
    return flask_babel.format_date(value, format)


def format_city_time(value: datetime | time | None, format: str = "short") -> str:
    if value is None:
        return ""
    return flask_babel.format_time(value, format)


def format_city_datetime(value: datetime | None, format: str = "medium") -> str:
    """Date and time in the city's time zone, without seconds: '2024年5月1日 14:30',
    'May 1, 2024, 2:30 PM'. A naive datetime is taken as UTC."""
    if value is None:
        return ""
    pattern = get_locale().datetime_formats.get(format) or "{1} {0}"
    return str(pattern).format(format_city_time(value, "short"),
                               format_city_date(value, format))


def datetime_attribute(value: datetime | date | None) -> str:
    """ISO 8601 for <time datetime="…">."""
    return value.isoformat() if value is not None else ""


def language_links(next_path: str) -> list[dict]:
    """The switcher's entries: every offered language, the current one marked."""
    current = str(get_locale())
    return [{"code": code, "label": LANGUAGES[code], "lang": html_lang(code),
             "current": code == current, "next": next_path} for code in _offered()]


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(html_lang=html_lang, get_locale=get_locale,
                                 LANGUAGES=LANGUAGES)
    app.jinja_env.filters.update(fen=format_fen, date=format_city_date,
                                 time=format_city_time, datetime=format_city_datetime,
                                 isodatetime=datetime_attribute)
    app.jinja_env.add_extension("jinja2.ext.do")
