"""Maintenance mode of a city (platform.tenants.maintenance, set from the platform console):
its site is read-only for citizens — pages open, but anything that would change something
(a POST, PUT, PATCH or DELETE outside /admin) answers 503 with a page that says why — and every
page, the administration's too, carries a banner. The flag reaches each process through the
tenant directory (TenantInfo.maintenance), so checking it costs no query."""
from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable

from app.web.banner import SiteBanner
from tenants.routing import is_city_console_path

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Endpoints that record what already happened elsewhere (a provider's word that money was
# taken), so they keep working in maintenance; see `keeps_working_in_maintenance`.
EXEMPT_ENDPOINTS: set[str] = set()

MAINTENANCE_NOTICE = _l("This site is under maintenance: you can look at its pages, but "
                        "forms can't be sent for now. Please try again later.")


class CityInMaintenance(ServiceUnavailable):
    description = "This city's site is read-only during maintenance."


def in_maintenance() -> bool:
    tenant = g.get("tenant")
    return tenant is not None and tenant.maintenance


def keeps_working_in_maintenance(view):
    """Mark a view that must not be refused in maintenance (it settles, it doesn't submit)."""
    EXEMPT_ENDPOINTS.add(f"{view.__module__}.{view.__name__}")
    return view


def refuse_changes_during_maintenance() -> None:
    """before_request, after the city is bound."""
    if (in_maintenance() and request.method not in READ_METHODS
            and not is_city_console_path(request.path)  # the staff keep working
            and _view_name() not in EXEMPT_ENDPOINTS):
        raise CityInMaintenance()


def _view_name() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return view and f"{view.__module__}.{view.__name__}"


def maintenance_banner() -> SiteBanner | None:
    return SiteBanner(text=str(MAINTENANCE_NOTICE)) if in_maintenance() else None



def init_app(app) -> None:
    app.before_request(refuse_changes_during_maintenance)
