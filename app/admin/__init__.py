"""The city's administration console, on each city's own host under /admin: staff sign in
with their city account and a second factor (TOTP), then work according to their role
(app/admin/permissions.py). Every change made here is written to the city's audit log in the
transaction that makes it (app/admin/audit.py).

Registered by create_app: `from app.admin import bp as admin_bp`,
`app.register_blueprint(admin_bp)`.
Importing this package also adds `flask tenants invite-admin` (app/admin/cli.py)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.after_request
def _no_store(response):
    """Admin pages show personal data, secrets and recovery codes: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _admin_context() -> dict:
    from app.impersonation import current_impersonation
    from app.staff import role_label
    from app.staff.models import ROLES
    from app.staff.permissions import MANAGE_STAFF, can, current_staff, second_factor_passed

    staff = current_staff()
    verified = staff is not None and second_factor_passed()
    return {"staff": staff, "admin_nav": verified,
            "can_manage_staff": verified and can(staff, MANAGE_STAFF),
            "role_label": role_label, "ROLES": ROLES, "impersonation": current_impersonation()}


# Registers the routes and the command:
from app.admin import (  # noqa: E402,F401
    branding,
    cli,
    dashboard,
    impersonation,
    modules,
    providers,
    views,
)
