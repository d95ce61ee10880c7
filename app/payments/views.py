"""The citizen's side of a payment, on the city's host: its page (summary, pay, cancel), the
return from the provider (which only asks the provider: the browser's word is never proof),
"check again", the receipt; the providers' notification endpoint; and the sandbox's checkout
page. No JavaScript: every step is a link or a form."""
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.extensions import csrf
from app.money import fen_of
from app.payments import sandbox, service
from app.payments.errors import PaymentError
from app.payments.merchant import account
from app.payments.models import (
    PROVIDERS,
    SANDBOX,
    STARTED,
    SUBMITTED,
    SUCCESS,
    Payment,
    payment_status,
)
from app.payments.providers import provider_for
from app.web.links import external_url, request_host
from app.web.maintenance import keeps_working_in_maintenance
from tenants.db import db
from tenants.jobs import defer_for_city

log = logging.getLogger(__name__)

bp = Blueprint("payments", __name__, url_prefix="/payments", template_folder="templates")

MOBILE_MARKERS = ("Mobile", "Android", "iPhone", "iPad", "HarmonyOS")


def _own(reference: str, lock: bool = False) -> Payment:
    """The payment, if this browser may see it (its account's, or its session's); else 404."""
    payment = service.find(reference, lock=lock)
    if payment is None or not service.may_see(payment, current_user):
        abort(404)
    return payment


def _back_url(payment: Payment) -> str | None:
    payable = service.PAYABLES.get(payment.kind)
    return payable.return_url(payment) if payable else None


@bp.get("/<reference>")
def show(reference):
    payment = _own(reference)
    if payment.unfinished and payment.expires_at <= service.now():
        payment = _own(reference, lock=True)
        service.settle_or_expire(payment)
        db.session.commit()
    return render_template("payments/show.html", payment=payment, back_url=_back_url(payment))


@bp.post("/<reference>/pay")
def pay(reference):
    """Off to the provider's checkout (phones get its mobile page)."""
    payment = _own(reference, lock=True)
    if payment.status not in (service.CREATED, STARTED) or payment.expires_at <= service.now():
        return redirect(url_for(".show", reference=reference), 303)
    mobile = any(marker in request.user_agent.string for marker in MOBILE_MARKERS)
    try:
        location = provider_for(payment.provider).checkout_url(
            # The browser comes back to the host it is on (its session cookie is there's); the
            # provider's notification goes to the city's primary domain.
            payment, return_url=external_url("payments.returned", host=request_host(),
                                             reference=reference),
            notify_url=external_url("payments.notify", provider=payment.provider),
            mobile=mobile, quit_url=external_url("payments.show", host=request_host(),
                                                 reference=reference))
    except PaymentError as error:
        db.session.rollback()
        return render_template("payments/show.html", payment=payment, error=error.message,
                               back_url=_back_url(payment)), 503
    service.start(payment)
    db.session.commit()
    return redirect(location, 303)


@bp.post("/<reference>/cancel")
def cancel(reference):
    payment = _own(reference, lock=True)
    try:
        service.cancel(payment)
    except PaymentError as error:
        db.session.rollback()
        return render_template("payments/show.html", payment=payment, error=error.message,
                               back_url=_back_url(payment)), 503
    db.session.commit()
    return redirect(url_for(".show", reference=reference), 303)


def _settle_and_show(reference: str):
    payment = _own(reference, lock=True)
    if payment.status == STARTED:
        service.transition(payment, SUBMITTED, "the citizen came back from the provider")
    try:
        service.settle(payment)
    except PaymentError:
        log.warning("payment %s: the provider could not be asked", reference)
    db.session.commit()
    if payment.status == SUCCESS and _back_url(payment):
        return redirect(_back_url(payment), 303)
    return redirect(url_for(".show", reference=reference), 303)


@bp.get("/<reference>/return")
def returned(reference):
    """The browser back from the provider: its parameters prove nothing, so ask the provider."""
    return _settle_and_show(reference)


@bp.post("/<reference>/check")
@keeps_working_in_maintenance
def check(reference):
    return _settle_and_show(reference)


@bp.get("/<reference>/receipt")
def receipt(reference):
    payment = _own(reference)
    if payment.status != SUCCESS:
        abort(404)
    return render_template("payments/receipt.html", payment=payment)


@bp.post("/notify/<provider>")
@csrf.exempt
@keeps_working_in_maintenance
def notify(provider):
    """The provider's asynchronous notification: `success` when taken (also for a repeat),
    `failure` (400) when refused."""
    if provider not in PROVIDERS:
        abort(404)
    accepted = service.receive_notification(provider, request.form.to_dict())
    db.session.commit()
    return Response("success" if accepted else "failure", status=200 if accepted else 400,
                    mimetype="text/plain")


# -- the sandbox provider's checkout page --------------------------------------------------------

@bp.route("/sandbox/gateway", methods=["GET", "POST"])
def sandbox_gateway():
    """Sandbox checkout: what Alipay's cashier page is, with "Approve" and "Decline"."""

    params = (request.form if request.method == "POST" else request.args).to_dict()
    params.pop("csrf_token", None)
    decision = params.pop("decision", None)
    if account().provider != SANDBOX:
        abort(404)
    try:
        trade, biz = sandbox.checkout(params, lock=request.method == "POST")
    except sandbox.SandboxRefused as error:
        db.session.rollback()
        return render_template("payments/sandbox_refused.html", reason=str(error)), 400
    if request.method == "GET":
        db.session.commit()
        return render_template("payments/sandbox_checkout.html", trade=trade, biz=biz,
                               params=params, amount_fen=fen_of(trade.total_amount))
    if decision not in ("approve", "decline"):
        abort(400)
    notification = sandbox.decide(trade, biz, params, approve=decision == "approve")
    location = sandbox.return_location(trade, params)
    db.session.commit()
    if notification is not None:  # after the commit: the job must find the trade decided
        defer_for_city("payments.sandbox_notify", params=notification)
    return redirect(location, 303)


bp.add_app_template_filter(payment_status, "payment_status")
bp.add_app_template_filter(service.payment_description, "payment_description")
bp.add_app_template_filter(service.item_label, "item_label")
