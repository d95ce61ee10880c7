"""The city's home page, the language switcher, and the hooks later modules fill: the service
cards of the home page and the announcement banner of every page."""
from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, redirect, render_template, request, session, url_for

from app.citizen import bp
from app.i18n import LANGUAGES
from app.web.navigation import safe_next


@dataclass(frozen=True)
class ServiceCard:
    """One service on the home page. `name` and `description` are lazy_gettext strings (one
    line each); `icon` names a symbol of static/icons.svg; `enabled(tenant)` says whether the
    city offers it (the module framework will answer from the city's settings)."""

    key: str
    name: str
    description: str
    endpoint: str
    icon: str = "service"
    order: int = 100
    enabled: Callable[..., bool] = lambda tenant: True

    @property
    def url(self) -> str:
        return url_for(self.endpoint)


@dataclass(frozen=True)
class SiteBanner:
    """An announcement shown on top of every page of the city's site."""

    text: str
    link: str | None = None
    link_text: str | None = None


# Filled by service modules at import time (a later issue): cards of the home page, and
# callables answering the banner to show now (or None); the first banner given is shown.
SERVICE_CARDS: list[ServiceCard] = []
BANNER_PROVIDERS: list[Callable[[], SiteBanner | None]] = []


def enabled_services(tenant) -> list[ServiceCard]:
    return sorted((card for card in SERVICE_CARDS if card.enabled(tenant)),
                  key=lambda card: (card.order, card.key))


def site_banner() -> SiteBanner | None:
    for provider in BANNER_PROVIDERS:
        banner = provider()
        if banner is not None:
            return banner
    return None


@bp.get("/")
def home():
    return render_template("citizen/home.html")


@bp.get("/lang/<code>")
def set_language(code):
    """The language switcher: remember the choice in the session, go back to the page."""
    from app.branding import offered_languages

    if code not in LANGUAGES or code not in offered_languages():
        abort(404)
    session["locale"] = code
    return redirect(safe_next(request.args.get("next"), url_for("citizen.home")))
