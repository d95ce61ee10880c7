"""The city's home page (a card per module the city offers), the banner on top of every page,
and the language switcher."""
from babel.lists import format_list
from flask import (
    abort,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale

from app.branding import current_branding, offered_languages
from app.branding.assets import asset_urls
from app.citizen.blueprint import bp
from app.i18n import LANGUAGES, language_links
from app.modules import Module, enabled_modules
from app.web.banner import SiteBanner
from app.web.maintenance import maintenance_banner
from app.web.navigation import current_path, safe_next
from app.web.page_cache import anonymous_page


def enabled_services() -> list[Module]:
    """The home page's cards: the modules the city offers that have citizen pages."""
    return [module for module in enabled_modules() if module.citizen is not None]


def site_banner() -> SiteBanner | None:
    """The banner on top of every page: maintenance first, else the first module's."""
    providers = (maintenance_banner, *(module.banner for module in enabled_modules()
                                       if module.banner is not None))
    return next((banner for banner in (provider() for provider in providers)
                 if banner is not None), None)


@bp.app_context_processor
def city_page_context() -> dict:
    """What every page of a city's site shows: its name, branding (colours through the theme
    style sheet, logo, contact details), languages, the announcement banner and, for the home
    page, the services the city offers."""
    tenant = g.get("tenant")
    if tenant is None:
        return {}
    branding = current_branding()
    city_name = tenant.display_name(get_locale())
    context = {"tenant": tenant, "branding": branding, "city_name": city_name}
    if has_request_context():  # a page, not a mail rendered by a job
        sections = [module.account_section for module in enabled_modules()
                    if module.account_section]
        context.update(services=enabled_services(), site_banner=site_banner(),
                       account_sections=sections,
                       languages=language_links(current_path()),
                       **asset_urls(branding, city_name))
    return context


@bp.get("/")
@anonymous_page  # made of the city's branding, modules and banner: all watched
def home():
    # The hero names only what the city offers (the cards below are the same modules).
    names = [str(module.name) for module in enabled_services()]
    return render_template("citizen/home.html",
                           service_list=format_list(names, locale=get_locale()) if names else "")


@bp.get("/lang/<code>")
def set_language(code):
    """The language switcher: remember the choice in the session, go back to the page."""
    if code not in LANGUAGES or code not in offered_languages():
        abort(404)
    session["locale"] = code
    return redirect(safe_next(request.args.get("next"), url_for("citizen.home")))
