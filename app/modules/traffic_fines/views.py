"""The citizen pages of traffic fines: look a fine up by plate number and ticket number, see
what is due today, pay it. Anyone may look fines up, signed in or not; failed look-ups are
throttled per city and client, and "no such ticket" and "another plate" get the same answer,
so fines can't be found by trying numbers.

A look-up that matches lets this browser session see that fine (its id is kept in the
session), which is how the citizen comes back to it from the checkout."""
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.modules import settings_of
from app.modules.traffic_fines.fees import due_today
from app.modules.traffic_fines.forms import LookupForm, PayForm, plate_hint
from app.modules.traffic_fines.models import TrafficFine
from app.payments import PaymentItemRequest, start_checkout
from app.payments.records import receipt_link
from app.web.forms import form_status
from app.web.throttle import limit_failures
from tenants.db import db

bp = Blueprint("traffic_fines", __name__, template_folder="templates")
PAYABLE_KIND = "traffic_fine"
SEEN_KEY = "traffic_fines_seen"
SEEN_LIMIT = 20
NOT_FOUND = 404
LOOKUPS = "traffic_fines.lookups"  # the failed look-ups' budget, shared with the API's


@bp.route("/", methods=["GET", "POST"])
@limit_failures(lambda: settings_of("traffic_fines")["lookups_per_hour"], NOT_FOUND,
                shared=LOOKUPS)
def index():
    form = LookupForm()
    form.plate_number.description = plate_hint(settings_of("traffic_fines")["plate_prefix"])
    if not form.validate_on_submit():
        return render_template("traffic_fines/lookup.html", form=form,
                               not_found=False), form_status(form)
    # One query for both values: a wrong plate and an unknown ticket are the same miss.
    fine = db.session.scalar(sa.select(TrafficFine.id).where(
        TrafficFine.ticket_number == form.ticket_number.data,
        TrafficFine.plate_number == form.plate_number.data))
    if fine is None:
        return render_template("traffic_fines/lookup.html", form=form,
                               not_found=True), NOT_FOUND
    seen = [fine_id for fine_id in session.get(SEEN_KEY, []) if fine_id != fine]
    session[SEEN_KEY] = [*seen, fine][-SEEN_LIMIT:]
    return redirect(url_for(".detail", fine_id=fine))


def _visible_fine(fine_id: int) -> TrafficFine:
    """A fine this browser looked up, or one the signed-in citizen paid; else 404."""
    fine = db.session.get(TrafficFine, fine_id)
    paid_by_user = (fine is not None and current_user.is_authenticated
                    and fine.paid_by == current_user.id)
    if fine is None or not (fine_id in session.get(SEEN_KEY, []) or paid_by_user):
        abort(404)
    return fine


@bp.get("/<int:fine_id>")
def detail(fine_id):
    fine = _visible_fine(fine_id)
    return render_template(
        "traffic_fines/detail.html", fine=fine, due=None if fine.is_paid else due_today(fine),
        receipt=receipt_link(PAYABLE_KIND, fine.id) if fine.is_paid else None,
        form=PayForm(idempotency_key=uuid.uuid4().hex))


@bp.post("/<int:fine_id>/pay")
def pay(fine_id):
    fine = _visible_fine(fine_id)
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    if fine.is_paid:
        flash(_("This fine is paid already."), "info")
        return redirect(url_for(".detail", fine_id=fine.id))
    due = due_today(fine)
    label = fine_label(fine)

    def refused(error):
        return render_template("traffic_fines/detail.html", fine=fine, due=due, receipt=None,
                               form=PayForm(idempotency_key=uuid.uuid4().hex),
                               problem=error.message), 409

    return start_checkout(PAYABLE_KIND, [PaymentItemRequest(fine.id, due.total_fen, label)],
                          label, form.idempotency_key.data,
                          back=url_for(".detail", fine_id=fine.id), refused=refused)


def fine_label(fine: TrafficFine) -> str:
    """How a payment names the fine (in the page's language when the payment is shown)."""
    return _("Traffic fine %(ticket)s", ticket=fine.ticket_number)


def return_url(payment) -> str:
    return url_for("traffic_fines.detail", fine_id=payment.items[0].item_id)
