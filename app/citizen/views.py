"""The city's home page (a card per module the city offers), the banner on top of every page,
and the language switcher."""
from flask import abort, redirect, render_template, request, session, url_for

from app.branding import offered_languages
from app.citizen import bp
from app.i18n import LANGUAGES
from app.modules import Module, enabled_modules
from app.web.banner import SiteBanner
from app.web.maintenance import maintenance_banner
from app.web.navigation import safe_next


def enabled_services() -> list[Module]:
    """The home page's cards: the modules the city offers that have citizen pages."""
    return [module for module in enabled_modules() if module.citizen is not None]


def site_banner() -> SiteBanner | None:
    """The banner on top of every page: maintenance first, else the first module's."""
    providers = (maintenance_banner, *(module.banner for module in enabled_modules()
                                       if module.banner is not None))
    return next((banner for banner in (provider() for provider in providers)
                 if banner is not None), None)


@bp.get("/")
def home():
    return render_template("citizen/home.html")


@bp.get("/lang/<code>")
def set_language(code):
    """The language switcher: remember the choice in the session, go back to the page."""
    if code not in LANGUAGES or code not in offered_languages():
        abort(404)
    session["locale"] = code
    return redirect(safe_next(request.args.get("next"), url_for("citizen.home")))
