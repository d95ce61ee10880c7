"""Staff seats: a city's plan may limit how many staff it has, counting active staff members and
open invitations (not accepted, revoked nor expired)."""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.entitlements import current_entitlements
from app.staff.models import INVITATION_LIFETIME, StaffInvitation, StaffMember
from tenants.db import db


class NoStaffSeatLeft(Exception):
    """Every staff seat of the city's plan is taken (active staff and open invitations)."""

    def __init__(self, seats: int):
        super().__init__(f"all {seats} staff seats of the city's plan are taken")
        self.seats = seats


def open_invitations() -> sa.Select:
    """Invitations that can still be accepted: not accepted, revoked nor expired."""
    since = datetime.now(UTC) - timedelta(seconds=INVITATION_LIFETIME)
    return sa.select(StaffInvitation).where(
        StaffInvitation.accepted_at.is_(None), StaffInvitation.revoked_at.is_(None),
        StaffInvitation.created_at > since)


def staff_seats_taken() -> int:
    """Active staff members, and open invitations."""
    active = sa.select(sa.func.count(StaffMember.id)).where(StaffMember.active).scalar_subquery()
    pending = sa.select(sa.func.count()).select_from(open_invitations().subquery())
    return db.session.scalar(sa.select(active + pending.scalar_subquery()))


def check_staff_seat() -> None:
    """Raise NoStaffSeatLeft when one more staff member would exceed the plan's seats."""
    seats = current_entitlements().staff_seats
    if seats is not None and staff_seats_taken() >= seats:
        raise NoStaffSeatLeft(seats)
