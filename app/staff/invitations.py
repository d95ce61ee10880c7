"""Invitations to the staff: a StaffInvitation row, and a link to it signed with a salt naming
the purpose and the city, valid 7 days; accepting marks the row, so the link works once."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit
from app.accounts import InvalidLink, normalize_email
from app.notifications.mail import send_mail
from app.staff.models import INVITATION_LIFETIME, StaffInvitation, StaffMember
from app.staff.seats import check_staff_seat
from app.web.links import outside_request
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
    if invitation.accepted_at is not None:
        raise InvalidLink("used")
    return invitation


def invite(email: str, role: str, modules: list[str], actor: str) -> tuple[StaffInvitation, str]:
    """Create an invitation with its audit entry in the current transaction and mail the link
    (in the city's language); returns the invitation and the link. The caller commits. Raises
    app.entitlements.NoStaffSeatLeft when the city's plan has no staff seat left."""
    check_staff_seat()
    invitation = StaffInvitation(email=normalize_email(email), role=role,
                                 modules=sorted(modules), invited_by=actor)
    db.session.add(invitation)
    db.session.flush()
    link = url_for("admin.invitation", token=token_for(invitation), _external=True)
    audit.record(actor, "staff.invite", f"invitation:{invitation.id}", None,
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
        with outside_request(tenant.domains[0]):
            if prepare is not None:
                prepare()
            _, link = invite(email, role, modules, actor)
            db.session.commit()
    return link


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
