"""Money taken after a payment ended (the citizen cancelled, then paid on the old checkout
link): recorded, given back by itself, the staff alerted and the citizen told in their
language; a repeat of the provider's message refunds nothing twice. Through the pages, the
sandbox's checkout and its notification job, against PostgreSQL."""
import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.notifications.models import Notification
from app.payments.models import SandboxTrade
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import (
    decide_at_checkout,
    new_payment,
    pay_through_the_sandbox,
    reload,
    resign,
)
from tests.conftest import form_token, run_worker
from tests.support.accounts import add_staff, signed_in_citizen
from tests.support.cities import host


@pytest.fixture()
def town(make_city):
    return make_city("late", locale="en", timezone="Asia/Shanghai")


def citizen_payment(app, client, town, amount=4200, locale=None):
    """A signed-in citizen (speaking `locale`) and a payment of theirs."""
    user_id = signed_in_citizen(app, client, town, "payer@example.com")
    with tenant_context(town, app):
        user = db.session.get(User, user_id)
        user.locale = locale
        db.session.commit()
        user = db.session.get(User, user_id)
        user.is_authenticated  # noqa: B018  (loaded before the session closes)
    return new_payment(app, town, ((1, amount),), user=user), user_id


def notifications(app, town, event) -> list[Notification]:
    with tenant_context(town, app):
        return db.session.scalars(sa.select(Notification).where(Notification.event == event)
                                  .order_by(Notification.id)).all()


def test_cancel_then_pay_on_the_old_link_is_refunded_by_itself(app, client, town):
    boss = add_staff(app, town, "boss@example.com", role="admin")
    payment, user_id = citizen_payment(app, client, town, locale="zh_Hans")
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    to_provider = client.post(f"/payments/{payment.reference}/pay", headers=host(town),
                              data={"csrf_token": form_token(page)})
    old_link = to_provider.location  # not opened yet: the provider has never seen the trade
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    cancelled = client.post(f"/payments/{payment.reference}/cancel", headers=host(town),
                            data={"csrf_token": form_token(page)})
    assert cancelled.status_code == 303
    assert reload(app, town, payment.reference).status == "cancelled"

    # Later, the old link from the browser's history: the provider takes the money.
    checkout = client.get(old_link, headers=host(town))
    assert checkout.status_code == 200 and 'value="approve"' in checkout.get_data(as_text=True)
    decide_at_checkout(client, town, checkout)
    run_worker(app)  # the provider's notification

    after = reload(app, town, payment.reference)
    assert after.status == "cancelled"  # a finished payment never changes
    assert (after.captured_fen, after.refunded_fen, after.refundable_fen) == (4200, 4200, 0)
    assert [e.cause for e in after.events][-2:] == [
        "paid at the provider after the payment had ended: refund it",
        "refund of 4200 fen: paid after the payment had ended: refunded automatically"]
    with tenant_context(town, app):
        trade = db.session.scalar(sa.select(SandboxTrade))
        assert (trade.trade_status, trade.refunded_amount_fen) == ("TRADE_SUCCESS", 4200)
    (alert,) = notifications(app, town, "payment_captured_late")
    assert alert.user_id == boss["user_id"] and payment.reference in alert.body
    assert "given back automatically" in alert.body
    (told,) = notifications(app, town, "payment_refunded")
    assert told.user_id == user_id and told.locale == "zh_Hans"
    assert "¥42.00" in told.subject and "退" in told.subject  # in the citizen's language

    # Alipay sends a notification again until it hears "success": nothing is refunded twice.
    repeat = resign(app, town, {
        "notify_type": "trade_status_sync", "out_trade_no": payment.reference,
        "trade_no": trade.trade_no, "trade_status": "TRADE_SUCCESS", "total_amount": "42.00"})
    answer = client.post("/payments/notify/sandbox", data=repeat, headers=host(town))
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    again = reload(app, town, payment.reference)
    assert (again.refunded_fen, len(again.events)) == (4200, len(after.events))
    assert len(notifications(app, town, "payment_captured_late")) == 1


def test_the_citizen_is_told_when_the_payment_is_received(app, client, town):
    payment, user_id = citizen_payment(app, client, town, amount=1990)
    pay_through_the_sandbox(client, town, payment.reference)
    assert reload(app, town, payment.reference).status == "success"
    (told,) = notifications(app, town, "payment_received")
    assert told.user_id == user_id and told.locale == "en"
    assert "¥19.90" in told.body and reload(app, town, payment.reference).receipt_number \
        in told.body
    assert f"/payments/{payment.reference}" in told.body
    run_worker(app)  # the notification job and the sandbox's: nothing twice
    assert len(notifications(app, town, "payment_received")) == 1
