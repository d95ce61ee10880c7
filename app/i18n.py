"""Languages and time zones: Simplified Chinese and English ship; each city has a default."""
from flask import g, request, session
from flask_babel import get_locale

from app.extensions import babel

LANGUAGES = {"zh_Hans": "简体中文", "en": "English"}
_PRIMARY_TAG = {"zh": "zh_Hans", "en": "en"}


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    tenant = g.get("tenant") or g.get("suspended_tenant")
    if tenant is not None:
        return tenant.locale
    best = request.accept_languages.best_match(list(_PRIMARY_TAG)) if request else None
    return _PRIMARY_TAG.get(best, "zh_Hans")


def select_timezone() -> str | None:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else None


def html_lang(locale) -> str:
    """BCP 47 tag for <html lang>: zh_Hans -> zh-Hans."""
    return str(locale).replace("_", "-")


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(html_lang=html_lang, get_locale=get_locale)
    app.jinja_env.add_extension("jinja2.ext.do")
