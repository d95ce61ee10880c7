"""Who is signed in to the platform console (PlatformConsoleSignIn: the sign-in pages every
console shares, app/second_factor/console.py), and the decorator every console view wears,
`platform_staff_required`.

Vendor staff accounts live in the platform schema (tenants.models.PlatformStaff), never in a
city's: a city account can't sign in here, and this sign-in is worth nothing on a city's host
(the session cookie's signing salt names the site, tenants/sessions.py; the keys below are read
on the platform host only).

Roles: admin does everything; support reads everything and may impersonate city staff
(app/platform/impersonation.py). Views that change something say
`@platform_staff_required(PLATFORM_ADMIN)`.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, g
from flask_babel import gettext as _

from app.accounts import check_password, normalize_email, rehashed
from app.accounts.sessions import SignIns
from app.platform import audit
from app.platform.forms import StaffLoginForm
from app.second_factor import SecondFactor
from app.second_factor.console import ConsoleSignIn
from tenants.db import db
from tenants.models import (
    PLATFORM_ADMIN,
    PLATFORM_ROLES,
    PLATFORM_SUPPORT,
    PlatformRecoveryCode,
    PlatformSession,
    PlatformStaff,
)
from tenants.routing import PLATFORM, current_site

__all__ = ["PLATFORM_ADMIN", "PLATFORM_SUPPORT", "current_platform_staff", "gate",
           "platform_console", "platform_staff_required", "second_factor_passed", "sign_in",
           "sign_out"]

# Each sign-in is a platform.staff_sessions row; the cookie session keeps its token.
platform_sign_ins = SignIns(PlatformSession, "staff_id", "platform_session")
platform_second_factor = SecondFactor(PlatformRecoveryCode, PlatformRecoveryCode.staff_id)


def _on_platform_host() -> bool:
    return current_site().kind == PLATFORM


def current_platform_staff() -> PlatformStaff | None:
    """The signed-in vendor staff member (of this browser's sign-in row, active), read once
    per request; None off the platform host."""
    if "platform_staff" not in g:
        row = platform_sign_ins.current() if _on_platform_host() else None
        g.platform_staff = row.staff if row is not None and row.staff.active else None
    return g.platform_staff


def sign_in(staff: PlatformStaff) -> None:
    """A new sign-in of `staff` on this browser (committed), in a fresh cookie session."""
    platform_sign_ins.start(staff)
    db.session.commit()
    g.platform_staff = staff


def sign_out() -> None:
    platform_sign_ins.end()
    g.platform_staff = None


def find_staff(email: str) -> PlatformStaff | None:
    email = normalize_email(email)
    return db.session.scalar(sa.select(PlatformStaff).where(PlatformStaff.email == email)) if (
        email) else None


class PlatformConsoleSignIn(ConsoleSignIn):
    """Signing in to the platform console: vendor staff accounts (platform.staff), each with a
    second factor of its own."""

    blueprint, path, home = "platform", "/console", "platform.fleet"
    templates = "platform/console"
    factor = platform_second_factor
    login_form, identifier_field = StaffLoginForm, "email"
    sign_ins, pending_secret_key = platform_sign_ins, "platform_pending_totp"

    def authenticate(self, form):
        staff = find_staff(form.email.data)
        if not check_password(staff.password_hash if staff else None, form.password.data) \
                or not staff.active:
            form.password.errors.append(_("The email address and password do not match a "
                                          "vendor staff account."))
            return None
        staff.password_hash = rehashed(staff.password_hash, form.password.data)
        staff.last_login_at = datetime.now(UTC)
        db.session.commit()
        return staff

    def current_account(self):
        return current_platform_staff()

    def staff_of(self, account):
        return account

    def begin(self, account) -> None:
        sign_in(account)

    def end(self) -> None:
        sign_out()

    def record(self, staff, action: str, **detail) -> None:
        audit.record(audit.actor_of(staff), action, **detail)

    def issuer(self) -> str:
        return _("CivicCloud platform console")

    def not_staff(self):
        abort(403)

    def site(self) -> str:
        return "platform"


platform_console = PlatformConsoleSignIn()
gate = platform_console.gate
second_factor_passed = platform_console.second_factor_passed


def platform_staff_required(role: str | None = None):
    """For platform console views: signed out → the sign-in page; no second factor yet → its
    set-up; second factor not given in this session → asked for it; `role` given
    (PLATFORM_ADMIN) and the staff member's role is another → 403. With no role, admin and
    support staff both pass."""
    if role is not None and role not in PLATFORM_ROLES:
        raise ValueError(f"unknown platform role {role!r}")
    return platform_console.required(lambda staff: role is None or staff.role == role)
