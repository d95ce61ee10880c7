""""My account": the citizen's records, a page at a time — every payment (with its receipt)
and every notification (linking to what it is about)."""
import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required

from app.citizen.blueprint import bp
from app.notifications.models import Notification
from app.payments import Payment
from app.web.pagination import page_of
from tenants.db import db

PAGE_SIZE = 20
LATEST = 5  # of each, on "My account" itself


def _payments_of(user) -> sa.Select:
    return sa.select(Payment).where(Payment.user_id == user.id).order_by(
        Payment.created_at.desc(), Payment.id.desc())


def _notifications_of(user) -> sa.Select:
    return sa.select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.id.desc())


@bp.app_template_global()
def latest_payments(user) -> list[Payment]:
    return db.session.scalars(_payments_of(user).limit(LATEST)).all()


@bp.get("/account/payments")
@login_required
def payments():
    found, page, has_next = page_of(_payments_of(current_user), PAGE_SIZE)
    return render_template("citizen/account/payments.html", payments=found, page=page,
                           has_next=has_next)


@bp.get("/account/notifications")
@login_required
def notifications():
    found, page, has_next = page_of(_notifications_of(current_user), PAGE_SIZE)
    return render_template("citizen/account/notifications.html", notifications=found,
                           page=page, has_next=has_next)
