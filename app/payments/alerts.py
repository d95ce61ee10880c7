"""Who is told about a payment, through app.notifications (in their language, sent only if the
transaction commits): the citizen when their payment is received and when money is given back;
the staff who may refund it when money came after the payment ended or a payment needs them."""
import sqlalchemy as sa

from app.accounts.models import User
from app.notifications import notify
from app.staff.models import ADMIN, StaffMember
from app.staff.permissions import CONFIGURE_MODULE, can
from app.web.links import external_url
from tenants.db import db


def tell_citizen(payment, event: str, **context) -> None:
    """`event` for the payment's account (a signed-out payment has no one to tell)."""
    user = db.session.get(User, payment.user_id) if payment.user_id is not None else None
    if user is not None:
        notify(user, event, payment=payment,
               link=external_url("payments.show", reference=payment.reference), **context)


def tell_staff(payment, module: str | None, event: str, **context) -> None:
    """`event` for every active staff member who may refund the payment: those who configure
    its `module`, and administrators (the only ones for a payment of no module)."""
    link = external_url("admin.payments.detail", reference=payment.reference)
    for staff in db.session.scalars(sa.select(StaffMember).where(StaffMember.active)
                                    .order_by(StaffMember.id)):
        if staff.role == ADMIN or (module is not None and can(staff, CONFIGURE_MODULE, module)):
            notify(staff.user, event, payment=payment, link=link, **context)
