"""Invitations to the staff: a StaffInvitation row, and a link to it signed with a salt naming
the purpose and the city, valid 7 days; accepting marks the row, so the link works once."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit
from app.accounts import InvalidLink, normalize_email
from app.notifications.mail import send_mail
from app.staff.models import INVITATION_LIFETIME, StaffInvitation, StaffMember
from app.staff.seats import check_staff_seat, open_invitations
from app.web.links import external_url
from tenants.context import current_tenant, tenant_context
from tenants.db import db


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key,
                                  salt=f"staff-invitation:{current_tenant().slug}")


def token_for(invitation: StaffInvitation) -> str:
    return _serializer().dumps({"inv": invitation.id, "email": invitation.email})


def invitation_for(token: str, lock: bool = False) -> StaffInvitation:
    """The open invitation of a link; InvalidLink if forged, for another city, expired or
    already accepted. `lock` holds the row until the transaction ends (accepting)."""
    try:
        payload = _serializer().loads(token, max_age=INVITATION_LIFETIME)
    except SignatureExpired:
        raise InvalidLink("expired") from None
    except BadSignature:
        raise InvalidLink("invalid") from None
    query = sa.select(StaffInvitation).where(StaffInvitation.id == payload.get("inv"))
    invitation = db.session.scalar(query.with_for_update() if lock else query)
    if invitation is None or invitation.email != payload.get("email"):
        raise InvalidLink("invalid")
    if invitation.revoked_at is not None:
        raise InvalidLink("revoked")
    if invitation.accepted_at is not None:
        raise InvalidLink("used")
    return invitation


def invite(email: str, role: str, modules: list[str], actor: str) -> tuple[StaffInvitation, str]:
    """Create an invitation with its audit entry in the current transaction and mail the link
    (in the city's language); returns the invitation and the link. The caller commits. An
    address with an open invitation gets it again, with this role and a new 7 days, taking no
    second seat; else raises app.entitlements.NoStaffSeatLeft when the city's plan has no
    staff seat left."""
    address = normalize_email(email)
    invitation = db.session.scalar(open_invitations().where(StaffInvitation.email == address)
                                   .order_by(StaffInvitation.id.desc()).limit(1)
                                   .with_for_update())
    if invitation is None:
        check_staff_seat()
        invitation = StaffInvitation(email=address, invited_by=actor)
        db.session.add(invitation)
        action, before = "staff.invite", None
    else:
        action = "staff.invite_resent"
        before = {"role": invitation.role, "modules": invitation.modules}
    invitation.role, invitation.modules = role, sorted(modules)
    invitation.created_at = datetime.now(UTC)  # the seat's count runs from the latest sending
    db.session.flush()
    link = external_url("admin.invitation", token=token_for(invitation))
    audit.record(actor, action, f"invitation:{invitation.id}", before,
                 {"email": invitation.email, "role": role, "modules": invitation.modules})
    tenant = current_tenant()
    with force_locale(tenant.locale):
        city = tenant.display_name(tenant.locale)
        send_mail(invitation.email, _("You are invited to the administration of %(city)s",
                                      city=city),
                  _("You are invited to join the staff of %(city)s. Open this link to accept "
                    "(valid for 7 days, once):\n\n%(link)s\n\nIf you did not expect this, "
                    "ignore this message.", city=city, link=link))
    return invitation, link


def invite_from_outside(tenant, email: str, role: str, modules: list[str], actor: str,
                        prepare=None) -> str:
    """`invite` for code that runs outside the city's site (the CLI, the platform console):
    bound to the city, links made for its first domain; `prepare()`, if given, runs first in
    the same transaction. Commits; returns the link."""

    with tenant_context(tenant):
        if prepare is not None:
            prepare()
        _, link = invite(email, role, modules, actor)
        db.session.commit()
    return link


def revoke(invitation: StaffInvitation, actor: str) -> None:
    """Its link stops working and its seat is free (in the current transaction, audited)."""
    invitation.revoked_at = datetime.now(UTC)
    audit.record(actor, "staff.invitation_revoked", f"invitation:{invitation.id}", None,
                 {"email": invitation.email})


def accept(invitation: StaffInvitation, user) -> StaffMember:
    """Give the account the invited role (in the current transaction, with its audit entry)."""
    staff = db.session.scalar(sa.select(StaffMember).where(StaffMember.user_id == user.id))
    before = staff.snapshot() if staff else None
    if staff is None:
        staff = StaffMember(user_id=user.id, user=user)
        db.session.add(staff)
    staff.role, staff.modules, staff.active = invitation.role, list(invitation.modules), True
    invitation.accepted_at, invitation.accepted_by = datetime.now(UTC), user.id
    db.session.flush()
    audit.record(audit.actor_of(user), "staff.invitation_accepted", f"staff:{staff.id}",
                 before, staff.snapshot())
    return staff
