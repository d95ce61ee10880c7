"""Staff seats: a city's plan may limit how many staff it has, counting active staff members and
invitations not yet accepted nor expired."""
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


def staff_seats_taken() -> int:
    """Active staff members, and invitations not yet accepted nor expired."""
    since = datetime.now(UTC) - timedelta(seconds=INVITATION_LIFETIME)
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
