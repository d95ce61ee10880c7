"""What the bound city's plan allows (platform.plans, given to a city by tenants.plan): the
modules its administrators may enable and the staff seats it has. A city without a plan is not
limited.

The city reads its own plan through the view platform_api.city_entitlements, in its own
transaction and as its own database role: the view shows each role only its own city's row,
so a city never reads another city's plan (nor anything else of the platform schema)."""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import g

from tenants.context import current_tenant
from tenants.db import db

_ENTITLEMENTS_SQL = sa.text(
    "SELECT plan, limited, modules, staff_seats FROM platform_api.city_entitlements")


class NoStaffSeatLeft(Exception):
    """Every staff seat of the city's plan is taken (active staff and open invitations)."""

    def __init__(self, seats: int):
        super().__init__(f"all {seats} staff seats of the city's plan are taken")
        self.seats = seats


@dataclass(frozen=True)
class Entitlements:
    plan: str | None
    modules: frozenset[str] | None  # None: any module
    staff_seats: int | None  # None: no limit

    def allows(self, module_key: str) -> bool:
        return self.modules is None or module_key in self.modules


def current_entitlements() -> Entitlements:
    """The bound city's entitlements, read once per request, command or job."""
    current_tenant()  # fails closed when no city is bound
    if "entitlements" not in g:
        row = db.session.execute(_ENTITLEMENTS_SQL).one()  # exactly one: its own
        g.entitlements = Entitlements(
            plan=row.plan, modules=frozenset(row.modules or ()) if row.limited else None,
            staff_seats=row.staff_seats if row.limited else None)
    return g.entitlements


def staff_seats_taken() -> int:
    """Active staff members, and invitations not yet accepted nor expired."""
    from app.admin.invitations import LIFETIME
    from app.models.staff import StaffInvitation, StaffMember

    since = datetime.now(UTC) - timedelta(seconds=LIFETIME)
    active = sa.select(sa.func.count(StaffMember.id)).where(StaffMember.active).scalar_subquery()
    pending = sa.select(sa.func.count(StaffInvitation.id)).where(
        StaffInvitation.accepted_at.is_(None),
        StaffInvitation.created_at > since).scalar_subquery()
    return db.session.scalar(sa.select(active + pending))


def check_staff_seat() -> None:
    """Raise NoStaffSeatLeft when one more staff member would exceed the plan's seats."""
    seats = current_entitlements().staff_seats
    if seats is not None and staff_seats_taken() >= seats:
        raise NoStaffSeatLeft(seats)
