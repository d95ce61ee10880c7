"""The city console's blueprint, `admin`: the modules' and payments' staff pages mounted as its
children, the gate every page passes first, the headers and template context of every page."""
from flask import Blueprint, request

from app.accounts import open_support_session
from app.impersonation import current_impersonation
from app.modules import discover
from app.payments import admin as payments_admin
from app.staff import role_label
from app.staff.models import ROLES
from app.staff.permissions import (
    MANAGE_STAFF,
    can,
    current_staff,
    gate,
    second_factor_passed,
)
from app.webhooks.endpoints import paused_endpoints
from tenants.routing import CITY_CONSOLE_PREFIX

bp = Blueprint("admin", __name__, url_prefix=CITY_CONSOLE_PREFIX)

# The console's pages that run their own, earlier gate: signing in and out, the second factor,
# accepting an invitation, entering as vendor support.
BEFORE_SIGN_IN = frozenset({
    "admin.login", "admin.second_factor", "admin.setup_second_factor", "admin.logout",
    "admin.invitation", "admin.impersonate", "admin.end_impersonation",
})

for _module in discover().values():
    if _module.admin is not None:
        bp.register_blueprint(_module.admin, url_prefix=f"/{_module.slug}")
bp.register_blueprint(payments_admin.bp, url_prefix="/payments")


@bp.before_request
def _signed_in_staff_only():
    """Every console page but those of BEFORE_SIGN_IN: signed-in active staff who passed the
    second factor in this session (else the sign-in, set-up or code page, or 403)."""
    if request.endpoint not in BEFORE_SIGN_IN:
        return gate("verified")
    return None


@bp.after_request
def _no_store(response):
    """Admin pages show personal data, secrets and recovery codes: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _admin_context() -> dict:
    staff = current_staff()
    verified = staff is not None and second_factor_passed()
    impersonation = current_impersonation()
    # Other staff are told while vendor support is signed in to the city's console.
    support = open_support_session() if verified and impersonation is None else None
    manages = verified and can(staff, MANAGE_STAFF)
    return {"staff": staff, "admin_nav": verified,
            "can_manage_staff": manages,
            # Administrators are told on every page that the city's systems miss events.
            "paused_webhooks": paused_endpoints() if manages else 0,
            "role_label": role_label, "ROLES": ROLES, "impersonation": impersonation,
            "support_session": support}
