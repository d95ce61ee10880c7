"""The citizen site, on each city's own host."""
from flask import Blueprint
from flask_babel import get_locale

bp = Blueprint("citizen", __name__)


@bp.app_context_processor
def city_page_context() -> dict:
    """What every page of a city's site shows: its name, branding (colours through the theme
    style sheet, logo, contact details), languages, the announcement banner and, for the home
    page, the services the city offers."""
    from flask import g, has_request_context

    from app.branding import current_branding
    from app.branding.assets import asset_urls
    from app.citizen.views import enabled_services, site_banner
    from app.i18n import language_links
    from app.modules import enabled_modules
    from app.web.navigation import current_path

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


from app.citizen import account, oidc, views  # noqa: E402,F401  (registers routes)
