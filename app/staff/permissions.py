"""Who may use the administration console and do what there: signing in (CityConsoleSignIn,
whose gate every console page runs first), one function, `can`, and the decorator every admin
view wears, `staff_required`.

Roles (app/models/staff.py):
- admin: everything, including the staff and every module;
- module_manager: configures and works the modules it is given, reads everything else;
- clerk: works the queues of the modules it is given, reads everything else;
- viewer: reads everything, changes nothing.

Module admin pages should check with a module key: `staff_required("work_module",
module="announcements")`. Reading a module's pages ("view" with a module) is open to viewers
and to the staff of that module.
"""
import sqlalchemy as sa
from flask import abort, g
from flask_babel import gettext as _
from flask_login import current_user

from app import accounts, audit
from app.accounts.forms import LoginForm
from app.second_factor.console import ConsoleSignIn
from app.staff import staff_second_factor
from app.staff.models import ADMIN, CLERK, MODULE_MANAGER, VIEWER, StaffMember
from tenants.context import current_tenant
from tenants.db import db

MANAGE_STAFF, CONFIGURE_MODULE, WORK_MODULE, VIEW = (
    "manage_staff", "configure_module", "work_module", "view")
ACTIONS = (MANAGE_STAFF, CONFIGURE_MODULE, WORK_MODULE, VIEW)

# What each role may do with the modules it is given (admins and viewers: every module).
_ROLE_ACTIONS = {
    ADMIN: set(ACTIONS),
    MODULE_MANAGER: {CONFIGURE_MODULE, WORK_MODULE, VIEW},
    CLERK: {WORK_MODULE, VIEW},
    VIEWER: {VIEW},
}


def can(staff: StaffMember | None, action: str, module: str | None = None) -> bool:
    """Whether `staff` may do `action` (on `module`, for module actions)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if staff is None or not staff.active or action not in _ROLE_ACTIONS.get(staff.role, ()):
        return False
    if staff.role in (ADMIN, VIEWER) or action == MANAGE_STAFF:
        return True
    if module is None:  # the console itself: module staff read it; module actions need a key
        return action == VIEW
    return module in (staff.modules or [])


def staff_of(user) -> StaffMember | None:
    """The active staff membership of an account of the bound city, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(sa.select(StaffMember).where(
        StaffMember.user_id == user.id, StaffMember.active))


def current_staff() -> StaffMember | None:
    """The signed-in account's staff membership (read once per request)."""
    if "admin_staff" not in g:
        g.admin_staff = staff_of(current_user)
    return g.admin_staff


class CityConsoleSignIn(ConsoleSignIn):
    """Signing in to the city's console: staff are accounts of the city (app.accounts) with an
    active staff membership; the second factor is the membership's."""

    blueprint, home = "admin", "admin.home"
    templates = "admin"
    factor = staff_second_factor
    login_form, identifier_field = LoginForm, "identifier"
    sign_ins, pending_secret_key = accounts.sign_ins, "admin_pending_totp"

    def authenticate(self, form):
        return accounts.authenticate_form(form)

    def current_account(self):
        return current_user if current_user.is_authenticated else None

    def staff_of(self, account):
        return current_staff()

    def begin(self, account) -> None:
        accounts.sign_in(account)

    def end(self) -> None:
        accounts.sign_out()

    def record(self, staff, action: str, **detail) -> None:
        audit.record(audit.actor_of(current_user), action, f"staff:{staff.id}", None, detail)

    def issuer(self) -> str:
        tenant = current_tenant()
        return _("%(city)s administration", city=tenant.display_name(tenant.locale))

    def not_staff(self):
        abort(403)

    def site(self) -> str:
        return f"city:{current_tenant().slug}:admin"


city_console = CityConsoleSignIn()
gate = city_console.gate
second_factor_passed = city_console.second_factor_passed


def staff_required(action: str = VIEW, module: str | None = None):
    """For admin views: signed out → the admin sign-in page; not (active) staff → 403; no
    second factor yet → its set-up; second factor not given in this session → asked for it;
    not allowed `action` (on `module`) → 403."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return city_console.required(lambda staff: can(staff, action, module))
