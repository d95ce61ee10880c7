""""My account": the citizen's records, a page at a time — every payment (with its receipt)
and every notification (linking to what it is about)."""
import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.citizen.blueprint import bp
from app.notifications.models import Notification
from app.payments import Payment, with_descriptions
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
    return with_descriptions(db.session.scalars(_payments_of(user).limit(LATEST)).all())


def _records_page(name: str, query: sa.Select, list_template: str, texts: dict,
                  prepare=lambda records: records):
    found, page, has_next = page_of(query, PAGE_SIZE)
    found = prepare(found)
    return render_template("citizen/account/records.html", records=found, **{name: found},
                           list_template=list_template, texts=texts, page=page,
                           has_next=has_next)


@bp.get("/account/payments")
@login_required
def payments():
    texts = {"heading": _("Your payments"),
             "introduction": _("Every payment you made while signed in, newest first. Open a "
                               "receipt to print it or save it as PDF."),
             "none_yet": _("No payments yet."), "no_more": _("There are no more payments."),
             "newer": _("Newer payments"), "older": _("Older payments")}
    return _records_page("payments", _payments_of(current_user),
                         "citizen/account/_payments_list.html", texts, with_descriptions)


@bp.get("/account/notifications")
@login_required
def notifications():
    texts = {"heading": _("Your notifications"),
             "introduction": _("Every message we sent you, newest first. Open one to see what "
                               "it is about."),
             "none_yet": _("No notifications yet."),
             "no_more": _("There are no more notifications."),
             "newer": _("Newer notifications"), "older": _("Older notifications")}
    return _records_page("notifications", _notifications_of(current_user),
                         "notifications/_list.html", texts)
