"""The platform host's blueprint, `platform`: the console's navigation, template context and
headers."""
from babel.lists import format_list
from flask import Blueprint, current_app, request
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import language_links
from app.modules import discover
from app.platform.auth import current_platform_staff, second_factor_passed
from app.web.navigation import current_path

bp = Blueprint("platform", __name__)

# The console's navigation: (endpoint, label, the endpoints that mark it current: exact names,
# or prefixes ending in "*"), shown when the endpoint exists (other parts add theirs).
CONSOLE_NAV = (
    ("platform.fleet", _l("Cities"), ("platform.fleet", "platform.city*")),
    ("platform.provision", _l("New city"), ("platform.provision",)),
    ("platform.plans", _l("Plans"), ("platform.plan*",)),
    ("platform.exports", _l("Exports"), ("platform.export*",)),
    ("platform.fleet_migrations", _l("Fleet migrations"), ("platform.fleet_migration*",)),
    ("platform.vendor_staff", _l("Vendor staff"), ("platform.vendor_staff",
                                                   "platform.reset_vendor_second_factor")),
    ("platform.audit_log", _l("Audit log"), ("platform.audit*",)),
)


def _is_current(endpoint: str | None, patterns) -> bool:
    return endpoint is not None and any(
        endpoint.startswith(p[:-1]) if p.endswith("*") else endpoint == p for p in patterns)


def platform_role_label(role: str) -> str:
    return {"admin": _("Platform administrator"), "support": _("Support")}.get(role, role)


def module_names(keys) -> str:
    """Modules by their names in the page's language, as a list ("—" for none); a key that no
    module declares any more is shown as it is."""
    modules = discover()
    names = [str(modules[key].name) if key in modules else key for key in keys or ()]
    return format_list(names, locale=get_locale()) if names else "—"


@bp.context_processor
def _console_context() -> dict:
    staff = current_platform_staff()
    verified = staff is not None and second_factor_passed()
    nav = [(endpoint, label, _is_current(request.endpoint, current))
           for endpoint, label, current in CONSOLE_NAV
           if endpoint in current_app.view_functions]
    return {"platform_staff": staff, "platform_nav": verified, "console_nav": nav,
            "console_languages": language_links(current_path()),
            "platform_role_label": platform_role_label, "module_names": module_names,
            "console_timezone": str(get_timezone())}


@bp.after_request
def _no_store(response):
    """Console pages show the fleet, secrets and recovery codes: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response
