"""The city's staff: accounts of the city (app/models/user.py) that may use the
administration console at /admin, with a role, the modules they work on, and a second factor
(TOTP, with single-use recovery codes). Invitations bring new staff in; each link works once."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from tenants.db import db

ADMIN, MODULE_MANAGER, CLERK, VIEWER = "admin", "module_manager", "clerk", "viewer"
ROLES = (ADMIN, MODULE_MANAGER, CLERK, VIEWER)
MODULE_ROLES = (MODULE_MANAGER, CLERK)  # roles limited to the modules they are given
INVITATION_LIFETIME = 7 * 24 * 3600  # seconds an invitation link works


class StaffMember(db.Model):
    """One account's place on the city's staff (at most one per account)."""

    __tablename__ = "staff_members"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    modules: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)), default=list,
                                               server_default="{}")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    totp_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)  # app.crypto token
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The time step of the last accepted code: a code is accepted once (RFC 6238, 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())

    user: Mapped[User] = relationship(lazy="joined")

    def snapshot(self) -> dict:
        """What the audit log records of a staff member before and after a change."""
        return {"user_id": self.user_id, "role": self.role, "modules": sorted(self.modules or []),
                "active": self.active}


class RecoveryCode(db.Model):
    """A single-use code that stands in for the TOTP code (only its SHA-256 is kept: the codes
    are random, 50 bits each)."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class StaffInvitation(db.Model):
    """An invitation to join the staff, sent by email as a signed link that names this row:
    it expires after INVITATION_LIFETIME (the signature), works once (accepted_at) and not at
    all once an administrator has revoked it (revoked_at)."""

    __tablename__ = "staff_invitations"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[str] = mapped_column(sa.String(20))
    modules: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)), default=list,
                                               server_default="{}")
    invited_by: Mapped[str] = mapped_column(sa.String(200))  # as the audit log names actors
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_by: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
