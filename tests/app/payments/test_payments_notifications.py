"""Asynchronous notifications: a genuine one settles the payment once; forged ones (bad
signature, wrong amount, unknown trade number, another city's, replays) are refused and change
nothing; late and out-of-order ones change nothing."""
import pytest

from app.payments.models import SUCCESS
from tests.app.payments.payments_support import (
    event_count,
    new_payment,
    paid_marks,
    reload,
    resign,
    sandbox_notification,
)
from tests.support.cities import host


@pytest.fixture()
def town(make_city):
    return make_city("notify", locale="en")


def post(client, town, params):
    return client.post("/payments/notify/sandbox", data=params, headers=host(town))


def assert_unchanged(app, town, payment):
    after = reload(app, town, payment.reference)
    assert (after.status, len(after.events)) == (payment.status, len(payment.events))
    assert paid_marks(app, town) == []


def test_a_genuine_notification_settles_once_and_a_replay_changes_nothing(app, client, town):
    payment = new_payment(app, town)
    notification = sandbox_notification(app, town, payment.reference)
    answer = post(client, town, notification)
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    paid = reload(app, town, payment.reference)
    assert paid.status == SUCCESS and paid.trade_no == notification["trade_no"]
    events = event_count(app, town, payment.reference)
    again = post(client, town, notification)
    assert again.get_data(as_text=True) == "success"  # taken, so the provider stops sending
    assert event_count(app, town, payment.reference) == events
    assert len(paid_marks(app, town)) == 1


def test_a_bad_signature_is_refused(app, client, town):
    payment = new_payment(app, town)
    notification = sandbox_notification(app, town, payment.reference)
    tampered = {**notification, "trade_no": notification["trade_no"] + "1"}
    answer = post(client, town, tampered)
    assert (answer.status_code, answer.get_data(as_text=True)) == (400, "failure")
    unsigned = {key: value for key, value in notification.items() if key != "sign"}
    assert post(client, town, unsigned).status_code == 400
    assert_unchanged(app, town, payment)


def test_a_wrong_amount_is_refused_even_when_signed(app, client, town):
    payment = new_payment(app, town, ((1, 1000),))
    notification = sandbox_notification(app, town, payment.reference)
    forged = resign(app, town, {**notification, "total_amount": "0.01"})
    assert post(client, town, forged).status_code == 400
    assert_unchanged(app, town, payment)


def test_an_unknown_trade_number_is_refused(app, client, town):
    payment = new_payment(app, town)
    notification = sandbox_notification(app, town, payment.reference)
    forged = resign(app, town, {**notification, "out_trade_no": "0" * 32})
    assert post(client, town, forged).status_code == 400
    assert_unchanged(app, town, payment)


def test_another_app_id_is_refused(app, client, town):
    payment = new_payment(app, town)
    notification = sandbox_notification(app, town, payment.reference)
    forged = resign_keeping_app_id(app, town, {**notification, "app_id": "someone-else"})
    assert post(client, town, forged).status_code == 400
    assert_unchanged(app, town, payment)


def resign_keeping_app_id(app, town, params):
    from app.payments import merchant, signing
    from tenants.context import tenant_context

    with tenant_context(town, app):
        gateway_key, _ = merchant.sandbox_keys()
    fields = {key: value for key, value in params.items() if key != "sign"}
    fields["sign"] = signing.sign(signing.content_to_sign(fields, ("sign", "sign_type")),
                                  gateway_key)
    return fields


def test_another_citys_notification_is_refused_on_this_citys_host(app, client, town,
                                                                  make_city):
    other = make_city("notify-other", locale="en")
    theirs = new_payment(app, other)
    ours = new_payment(app, town)
    notification = sandbox_notification(app, other, theirs.reference)
    assert post(client, town, notification).status_code == 400  # their key, their trade
    # Even signed with this city's key, their trade number is not one of ours.
    assert post(client, town, resign(app, town, notification)).status_code == 400
    assert_unchanged(app, town, ours)
    assert_unchanged(app, other, theirs)


def test_out_of_order_notifications_change_nothing_once_finished(app, client, town):
    payment = new_payment(app, town)
    paid = sandbox_notification(app, town, payment.reference)
    post(client, town, paid)
    events = event_count(app, town, payment.reference)
    # Alipay sends TRADE_CLOSED after a full refund, TRADE_FINISHED when refunds end, and
    # a WAIT_BUYER_PAY may arrive late: none of them changes a successful payment.
    for status in ("TRADE_CLOSED", "TRADE_FINISHED", "WAIT_BUYER_PAY"):
        answer = post(client, town, resign(app, town, {**paid, "trade_status": status}))
        assert answer.get_data(as_text=True) == "success"
    after = reload(app, town, payment.reference)
    assert after.status == SUCCESS and len(after.events) == events
    assert len(paid_marks(app, town)) == 1


def test_a_payment_made_after_it_expired_is_noted_once_and_stays_expired(app, client, town):
    from app.payments.models import Payment
    from app.payments.service import transition
    from tenants.context import tenant_context
    from tenants.db import db

    payment = new_payment(app, town)
    paid = sandbox_notification(app, town, payment.reference)
    with tenant_context(town, app):
        row = db.session.get(Payment, payment.id)
        transition(row, "expired", "test")
        db.session.commit()
    post(client, town, paid)
    post(client, town, paid)
    after = reload(app, town, payment.reference)
    assert after.status == "expired" and paid_marks(app, town) == []
    assert [event.cause for event in after.events].count(
        "paid at the provider after the payment had ended: refund it") == 1
