"""What the payments tests share: a payable of their own (its on_paid writes an audit entry in
the same transaction, so a rolled-back success leaves no trace), and helpers to make, read and
pay payments."""
import secrets
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from flask import url_for

from app.admin.audit import record
from app.models import AuditEntry
from app.payments import (
    Payable,
    Payment,
    PaymentItemRequest,
    register_payable,
    request_payment,
    sandbox,
)
from app.payments.models import PaymentEvent
from tenants.context import tenant_context
from tenants.db import db
from tests.app.test_admin import host

KIND = "test_item"


def _mark_paid(payment, item_ids):
    record("payments-test", "test_item.paid", ",".join(map(str, item_ids)),
           after={"reference": payment.reference, "amount_fen": payment.amount_fen})


register_payable(Payable(kind=KIND, module=None, on_paid=_mark_paid,
                         return_url=lambda payment: url_for("payments.show",
                                                            reference=payment.reference)))


def items(*pairs):
    return [PaymentItemRequest(item_id=item_id, amount_fen=amount, label=f"Item {item_id}")
            for item_id, amount in pairs]


def new_payment(app, town, pairs=((1, 1000),), key=None, user=None) -> Payment:
    with tenant_context(town, app):
        payment = request_payment(kind=KIND, items=items(*pairs), description="Test payment",
                                  user=user, idempotency_key=key or secrets.token_hex(8))
        db.session.commit()
        return reload(app, town, payment.reference)


def reload(app, town, reference) -> Payment:
    with tenant_context(town, app):
        payment = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
        payment.events, payment.items  # noqa: B018  (loaded before the session closes)
        db.session.expunge(payment)
        return payment


def event_count(app, town, reference) -> int:
    with tenant_context(town, app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent).join(
            Payment).where(Payment.reference == reference))


def paid_marks(app, town) -> list[AuditEntry]:
    with tenant_context(town, app):
        return db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "test_item.paid").order_by(AuditEntry.id)).all()


def remember(client, town, payment) -> None:
    """Let this browser see an anonymous payment (as if it had asked for it)."""
    with client.session_transaction(headers=host(town)) as session:
        session["payments"] = [*session.get("payments", []), payment.reference]


def sandbox_notification(app, town, reference, approve=True) -> dict:
    """The sandbox's signed notification for a payment sent to checkout (decided now)."""
    from app.payments.providers import provider_for

    with tenant_context(town, app), app.test_request_context(headers=host(town)):
        payment = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
        url = provider_for(payment.provider).checkout_url(payment, "http://x/return",
                                                          "http://x/notify", mobile=False)
        params = dict(parse_qsl(urlsplit(url).query))
        trade, biz = sandbox.checkout(params, lock=True)
        notification = sandbox.decide(trade, biz, params, approve=approve)
        db.session.commit()
        return notification


def resign(app, town, params) -> dict:
    """Params signed with the city's sandbox gateway key (as only the provider could)."""
    with tenant_context(town, app):
        fields = {key: value for key, value in params.items() if key != "sign"}
        signed = sandbox._gateway_signed(fields)
        db.session.commit()
        return signed
