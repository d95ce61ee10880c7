"""The citizen site, on each city's own host."""
from flask import Blueprint
from flask_babel import get_locale

bp = Blueprint("citizen", __name__)

# Templates that "My account" includes, one per section; service modules add theirs.
ACCOUNT_SECTIONS: list[str] = []


@bp.app_context_processor
def city_page_context() -> dict:
    """What every page of a city's site shows: its name and branding."""
    from flask import g

    from app.models import Branding

    tenant = g.get("tenant")
    if tenant is None:
        return {}
    if "branding" not in g:
        g.branding = Branding.current()
    return {"tenant": tenant, "branding": g.branding, "account_sections": ACCOUNT_SECTIONS,
            "city_name": tenant.display_name(get_locale())}


from app.citizen import account, assets, oidc, views  # noqa: E402,F401  (registers routes)
