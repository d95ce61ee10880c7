"""What the payments tests share: a payable of their own (its on_paid writes an audit entry in
the same transaction, so a rolled-back success leaves no trace), and helpers to make, read and
pay payments, also through the pages and the sandbox's checkout as a citizen's browser does."""
import html
import re
import secrets
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from flask import url_for

from app.audit import record
from app.audit.models import AuditEntry
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
from tests.conftest import form_token
from tests.support.cities import host

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


def idempotency_key(page) -> str | None:
    """The idempotency key a page's pay form carries (None where it shows no such form)."""
    shown = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    return shown.group(1) if shown else None


def reference_in(location: str) -> str:
    """The reference of the payment whose page `location` is (/payments/<reference>)."""
    return location.rstrip("/").rsplit("/", 1)[-1]


def open_checkout(client, town, reference):
    """The payment page's Pay, as the browser follows it: returns the sandbox's checkout."""
    page = client.get(f"/payments/{reference}", headers=host(town))
    assert page.status_code == 200
    to_provider = client.post(f"/payments/{reference}/pay", headers=host(town),
                              data={"csrf_token": form_token(page)})
    assert to_provider.status_code == 303
    checkout = client.get(to_provider.location, headers=host(town))
    assert checkout.status_code == 200 and "Sandbox checkout" in checkout.get_data(as_text=True)
    return checkout


def decide_at_checkout(client, town, checkout, decision="approve"):
    """Press `decision` ("approve" or "decline") on the checkout page: its form as it is."""
    form = next(block for block in re.findall(r"<form.*?</form>", checkout.get_data(as_text=True),
                                              re.S) if f'value="{decision}"' in block)
    fields = {html.unescape(name): html.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    return client.post("/payments/sandbox/gateway", headers=host(town), data=fields)


def pay_through_the_sandbox(client, town, reference, decision="approve"):
    """The citizen's browser: the payment page, Pay, the sandbox checkout, back to the city;
    returns the city's answer to the return."""
    back = decide_at_checkout(client, town, open_checkout(client, town, reference), decision)
    assert back.status_code == 303 and f"/payments/{reference}/return" in back.location
    return client.get(back.location, headers=host(town))


def pay_as_asked(client, town, answer, decision="approve"):
    """Follow a module's answer to "Pay" (sent to the payment's page) through the sandbox,
    pressing `decision`; returns the page the citizen lands on in the end."""
    assert answer.status_code == 302, answer.get_data(as_text=True)
    landed = pay_through_the_sandbox(client, town, reference_in(answer.location), decision)
    while landed.status_code in (302, 303):
        landed = client.get(landed.location, headers=host(town))
    return landed
