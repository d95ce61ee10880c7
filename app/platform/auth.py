"""Who is signed in to the platform console, and the decorator every console view wears,
`platform_staff_required`.

Vendor staff accounts live in the platform schema (tenants.models.PlatformStaff), never in a
city's: a city account can't sign in here, and this sign-in is worth nothing on a city's host
(the session cookie's signing salt names the site, tenants/sessions.py; the keys below are read
on the platform host only).

Roles: admin does everything; support reads everything and may impersonate city staff
(app/platform/impersonation.py). Views that change something say
`@platform_staff_required(PLATFORM_ADMIN)`.
"""
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, redirect, session, url_for

from app.second_factor import SecondFactor, ask_for_second_factor
from app.web.navigation import current_path
from tenants.db import db
from tenants.models import (
    PLATFORM_ADMIN,
    PLATFORM_ROLES,
    PLATFORM_SUPPORT,
    PlatformRecoveryCode,
    PlatformStaff,
)

__all__ = ["PLATFORM_ADMIN", "PLATFORM_SUPPORT", "actor_of", "current_platform_staff", "gate",
           "platform_staff_required", "second_factor_passed", "sign_in", "sign_out"]

# The session keys: the signed-in account (PlatformStaff.session_id), and the same value once
# this sign-in has passed the second factor.
STAFF_KEY = "platform_staff"
SECOND_FACTOR_KEY = "platform_second_factor"

platform_second_factor = SecondFactor(PlatformRecoveryCode, PlatformRecoveryCode.staff_id)


def _on_platform_host() -> bool:
    return g.get("site") == "platform"


def current_platform_staff() -> PlatformStaff | None:
    """The signed-in vendor staff member (active, password unchanged since), read once per
    request; None off the platform host."""
    if "platform_staff" not in g:
        g.platform_staff = None
        value = session.get(STAFF_KEY) if _on_platform_host() else None
        staff_id = value.partition(".")[0] if isinstance(value, str) else ""
        if staff_id.isdigit():
            staff = db.session.get(PlatformStaff, int(staff_id))
            if staff is not None and staff.active and staff.session_id() == value:
                g.platform_staff = staff
    return g.platform_staff


def second_factor_passed() -> bool:
    staff = current_platform_staff()
    return staff is not None and session.get(SECOND_FACTOR_KEY) == staff.session_id()


def sign_in(staff: PlatformStaff) -> None:
    session.pop(SECOND_FACTOR_KEY, None)
    session[STAFF_KEY] = staff.session_id()
    g.platform_staff = staff


def pass_second_factor() -> None:
    session[SECOND_FACTOR_KEY] = current_platform_staff().session_id()


def sign_out() -> None:
    session.clear()
    g.platform_staff = None


def actor_of(staff: PlatformStaff) -> str:
    """How the platform audit log names a vendor staff member: `platform:<id>:<email>`."""
    return f"platform:{staff.id}:{staff.email}"


def gate(stage: str = "verified"):
    """None when the request may go on to `stage`, else the answer to give instead. Stages:
    "signed_in", "enrolled" (also has a confirmed TOTP), "verified" (also passed the second
    factor in this session)."""
    if not _on_platform_host():
        abort(404)
    staff = current_platform_staff()
    if staff is None:
        return redirect(url_for("platform.login", next=current_path()))
    if stage == "signed_in":
        return None
    return ask_for_second_factor(staff, stage, second_factor_passed(), "platform")


def platform_staff_required(role: str | None = None):
    """For platform console views: signed out → the sign-in page; no second factor yet → its
    set-up; second factor not given in this session → asked for it; `role` given
    (PLATFORM_ADMIN) and the staff member's role is another → 403. With no role, admin and
    support staff both pass."""
    if role is not None and role not in PLATFORM_ROLES:
        raise ValueError(f"unknown platform role {role!r}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            answer = gate("verified")
            if answer is not None:
                return answer
            if role is not None and current_platform_staff().role != role:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorator


def find_staff(email: str) -> PlatformStaff | None:
    from app.accounts import normalize_email

    email = normalize_email(email)
    return db.session.scalar(sa.select(PlatformStaff).where(PlatformStaff.email == email)) if (
        email) else None
