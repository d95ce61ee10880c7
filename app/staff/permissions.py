"""Who may do what in the administration console: one function, `can`, and the decorator
every admin view wears, `staff_required`.

Roles (app/models/staff.py):
- admin: everything, including the staff and every module;
- module_manager: configures and works the modules it is given, reads everything else;
- clerk: works the queues of the modules it is given, reads everything else;
- viewer: reads everything, changes nothing.

Module admin pages should check with a module key: `staff_required("work_module",
module="announcements")`. Reading a module's pages ("view" with a module) is open to viewers
and to the staff of that module.
"""
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, redirect, session, url_for
from flask_login import current_user

from app.second_factor import ask_for_second_factor
from app.staff.models import ADMIN, CLERK, MODULE_MANAGER, VIEWER, StaffMember
from app.web.navigation import current_path
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

# The session key recording that this sign-in passed the second factor: its value is the
# account's session id (User.get_id), so a password change, another account signing in, or
# signing out ends it.
SECOND_FACTOR_KEY = "admin_second_factor"


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


def second_factor_passed() -> bool:
    return (current_user.is_authenticated
            and session.get(SECOND_FACTOR_KEY) == current_user.get_id())


def gate(stage: str = "verified"):
    """None when the request may go on to `stage`, else the answer to give instead.
    Stages: "staff" (signed-in active staff), "enrolled" (also has a confirmed TOTP),
    "verified" (also passed the second factor in this session)."""
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login", next=current_path()))
    staff = current_staff()
    if staff is None:
        abort(403)
    if stage == "staff":
        return None
    return ask_for_second_factor(staff, stage, second_factor_passed(), "admin")


def staff_required(action: str = VIEW, module: str | None = None):
    """For admin views: signed out → the admin sign-in page; not (active) staff → 403; no
    second factor yet → its set-up; second factor not given in this session → asked for it;
    not allowed `action` (on `module`) → 403."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            answer = gate("verified")
            if answer is not None:
                return answer
            if not can(current_staff(), action, module):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorator
