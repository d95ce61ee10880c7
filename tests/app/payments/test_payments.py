"""Payments: idempotent creation, one live payment per item (also under concurrency), the
sandbox flow end to end, and a finished payment that never changes."""
import threading

import pytest
import sqlalchemy as sa

from app.payments import (
    AlreadyPaid,
    PaymentConflict,
    PaymentInProgress,
    payment_for,
)
from app.payments.models import EXPIRED, STARTED, SUCCESS, Payment, PaymentItem
from app.payments.service import IllegalTransition, transition
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import (
    KIND,
    decide_at_checkout,
    event_count,
    new_payment,
    open_checkout,
    paid_marks,
    pay_through_the_sandbox,
    reload,
    remember,
    sandbox_notification,
)
from tests.conftest import form_token
from tests.support.cities import host


@pytest.fixture()
def town(make_city):
    return make_city("pay", locale="en")


def test_the_same_key_and_request_give_the_same_payment(app, town):
    first = new_payment(app, town, ((1, 1000), (2, 500)), key="key-1")
    again = new_payment(app, town, ((2, 500), (1, 1000)), key="key-1")
    assert again.reference == first.reference
    assert first.amount_fen == 1500 and first.status == "created"
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_the_same_key_with_another_request_is_a_conflict(app, town):
    new_payment(app, town, ((1, 1000),), key="key-1")
    with pytest.raises(PaymentConflict):
        new_payment(app, town, ((1, 1200),), key="key-1")


def test_another_tab_gets_the_payment_in_progress_and_another_request_is_refused(app, town):
    first = new_payment(app, town, ((1, 1000),), key="tab-1")
    assert new_payment(app, town, ((1, 1000),), key="tab-2").reference == first.reference
    with pytest.raises(PaymentInProgress) as refused:
        new_payment(app, town, ((1, 1000), (2, 300)), key="tab-3")
    assert refused.value.payment.reference == first.reference


def test_concurrent_requests_make_one_payment(app, town):
    """A double click (same key) and two tabs (other keys), all at once: one payment."""
    results, errors, start = [], [], threading.Barrier(8)

    def pay(key):
        start.wait()
        try:
            results.append(new_payment(app, town, ((7, 2500),), key=key).reference)
        except Exception as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(f"k{i % 3}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 8 and len(set(results)) == 1
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentItem).where(
            PaymentItem.item_id == 7, PaymentItem.live)) == 1


def test_the_database_refuses_a_second_live_payment_of_an_item(app, town):
    payment = new_payment(app, town, ((3, 100),))
    with tenant_context(town, app), pytest.raises(sa.exc.IntegrityError):
        db.session.add(PaymentItem(payment_id=payment.id, kind=KIND, item_id=3, amount_fen=100,
                                   label="again"))
        db.session.flush()


def test_the_sandbox_flow_pays_and_the_return_settles_by_query(app, client, town):
    payment = new_payment(app, town, ((1, 1234),))
    remember(client, town, payment)
    landed = pay_through_the_sandbox(client, town, payment.reference)
    # Settled by alipay.trade.query (the notification job has not run): sent to return_url.
    assert landed.status_code == 303
    paid = reload(app, town, payment.reference)
    assert paid.status == SUCCESS and paid.receipt_number and paid.trade_no
    assert [(e.from_status, e.to_status, e.cause) for e in paid.events] == [
        ("created", "created", "requested"), ("created", "started", "sent to the provider"),
        ("started", "submitted", "the citizen came back from the provider"),
        ("submitted", "success", "query")]
    assert [mark.target for mark in paid_marks(app, town)] == ["1"]
    receipt = client.get(f"/payments/{payment.reference}/receipt", headers=host(town))
    text = receipt.get_data(as_text=True)
    assert paid.receipt_number in text and "¥12.34" in text
    with tenant_context(town, app):
        assert payment_for(KIND, 1).reference == payment.reference
    with pytest.raises(AlreadyPaid) as refused:
        new_payment(app, town, ((1, 1234),))
    assert refused.value.payment.reference == payment.reference


def test_declining_fails_the_payment_and_frees_the_item(app, client, town):
    payment = new_payment(app, town, ((1, 500),))
    remember(client, town, payment)
    pay_through_the_sandbox(client, town, payment.reference, decision="decline")
    assert reload(app, town, payment.reference).status == "failed"
    assert paid_marks(app, town) == []
    assert new_payment(app, town, ((1, 500),)).reference != payment.reference


def test_the_return_alone_is_no_proof_of_payment(app, client, town):
    payment = new_payment(app, town, ((1, 500),))
    remember(client, town, payment)
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    client.post(f"/payments/{payment.reference}/pay", headers=host(town),
                data={"csrf_token": form_token(page)})
    # Back from the "provider" without paying, with made-up success parameters.
    client.get(f"/payments/{payment.reference}/return?trade_status=TRADE_SUCCESS"
               f"&out_trade_no={payment.reference}&total_amount=5.00", headers=host(town))
    waiting = client.get(f"/payments/{payment.reference}", headers=host(town))
    assert reload(app, town, payment.reference).status == "submitted"
    assert "Check again" in waiting.get_data(as_text=True)


def test_the_sandbox_notification_is_delivered_by_a_job(app, client, town):
    from tests.conftest import run_worker

    payment = new_payment(app, town, ((1, 800),))
    remember(client, town, payment)
    decide_at_checkout(client, town, open_checkout(client, town, payment.reference))
    assert reload(app, town, payment.reference).status == STARTED  # the browser never came back
    run_worker(app)
    paid = reload(app, town, payment.reference)
    assert paid.status == SUCCESS and paid.events[-1].cause == "notification"
    assert paid.events[-1].message["trade_status"] == "TRADE_SUCCESS"


def test_a_finished_payment_never_changes(app, town):
    payment = new_payment(app, town, ((1, 800),))
    notification = sandbox_notification(app, town, payment.reference)
    with tenant_context(town, app):
        from app.payments.service import receive_notification

        assert receive_notification("sandbox", notification)
        db.session.commit()
        paid = db.session.scalar(sa.select(Payment).where(Payment.id == payment.id))
        for status in ("created", "started", "failed", "expired", "success"):
            with pytest.raises(IllegalTransition):
                transition(paid, status, "test")
        db.session.rollback()
    assert reload(app, town, payment.reference).status == SUCCESS


def test_someone_elses_payment_is_not_found(app, client, town, cities):
    payment = new_payment(app, town, ((1, 800),))
    assert client.get(f"/payments/{payment.reference}", headers=host(town)).status_code == 404
    remember(client, town, payment)
    assert client.get(f"/payments/{payment.reference}", headers=host(town)).status_code == 200
    # The same browser on another city's host: that city has no such payment.
    beta = cities["beta"]
    remember(client, beta, payment)
    assert client.get(f"/payments/{payment.reference}", headers=host(beta)).status_code == 404


def test_a_signed_in_citizens_payment_is_theirs_only(app, client, town):
    from tests.support.accounts import add_citizen, sign_in_to_admin

    owner = add_citizen(app, town, "owner@example.com")
    add_citizen(app, town, "other@example.com")
    with tenant_context(town, app):
        from app.accounts.models import User

        user = db.session.get(User, owner)
        user.is_authenticated  # noqa: B018
    payment = new_payment(app, town, ((1, 800),), user=user)
    sign_in_to_admin(client, town, "other@example.com")
    assert client.get(f"/payments/{payment.reference}", headers=host(town)).status_code == 404
    owners_browser = app.test_client()
    sign_in_to_admin(owners_browser, town, "owner@example.com")
    assert owners_browser.get(f"/payments/{payment.reference}",
                              headers=host(town)).status_code == 200


def test_the_expiry_job_settles_paid_ones_and_expires_the_rest(app, town):
    from tenants.jobs import defer
    from tests.conftest import run_worker

    paid = new_payment(app, town, ((1, 100),))
    unpaid = new_payment(app, town, ((2, 100),))
    never_sent = new_payment(app, town, ((3, 100),))
    sandbox_notification(app, town, paid.reference)  # paid at the provider, never told
    sandbox_notification(app, town, unpaid.reference, approve=False)
    with tenant_context(town, app):
        for reference in (paid.reference, unpaid.reference):
            payment = db.session.scalar(sa.select(Payment).where(Payment.reference == reference))
            transition(payment, STARTED, "test")
        db.session.execute(sa.update(Payment).values(
            expires_at=sa.func.now() - sa.text("interval '1 minute'")))
        db.session.commit()
    with app.app_context():
        defer("payments.expire_due")
    run_worker(app)
    assert reload(app, town, paid.reference).status == SUCCESS
    assert reload(app, town, unpaid.reference).status == "failed"  # the sandbox said closed
    assert reload(app, town, never_sent.reference).status == EXPIRED
    assert event_count(app, town, never_sent.reference) == 2


def test_cancelling_closes_the_trade_so_it_cannot_be_paid_later(app, client, town):
    payment = new_payment(app, town, ((1, 700),))
    remember(client, town, payment)
    checkout = open_checkout(client, town, payment.reference)  # the trade is open
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    client.post(f"/payments/{payment.reference}/cancel", headers=host(town),
                data={"csrf_token": form_token(page)})
    assert reload(app, town, payment.reference).status == "cancelled"
    # The cashier page left open in another tab: approving now takes no money.
    decide_at_checkout(client, town, checkout)
    with tenant_context(town, app):
        from app.payments.models import SandboxTrade

        assert db.session.scalar(sa.select(SandboxTrade.trade_status)) == "TRADE_CLOSED"
    assert reload(app, town, payment.reference).status == "cancelled"
    assert new_payment(app, town, ((1, 700),)).reference != payment.reference


def test_a_new_city_gets_its_sandbox_keys_from_a_job_after_provisioning(app, make_city):
    from app.payments.models import MerchantAccount
    from tests.conftest import run_worker

    app.config["PAYMENTS_KEYS_AT_PROVISIONING"] = True
    try:
        tenant = make_city("keys")
    finally:
        app.config["PAYMENTS_KEYS_AT_PROVISIONING"] = False
    with tenant_context(tenant, app):
        assert db.session.get(MerchantAccount, 1) is None  # provisioning made no keys
    with app.app_context(), db.engine.connect() as connection:
        queued = connection.execute(sa.text(
            "SELECT count(*) FROM jobs.procrastinate_jobs WHERE task_name = "
            "'payments.prepare_city' AND args->>'city' = :slug"), {"slug": tenant.slug}).scalar()
    assert queued == 1
    run_worker(app)
    with tenant_context(tenant, app):
        account = db.session.get(MerchantAccount, 1)
        assert account.provider == "sandbox"
        assert account.sandbox_merchant_key_encrypted and account.sandbox_gateway_key_encrypted
