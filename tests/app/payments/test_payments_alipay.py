"""The Alipay provider over real HTTP: a local stand-in for Alipay's gateway checks the
merchant's signature and answers alipay.trade.query, .close and .refund signed with "Alipay's"
key; notifications signed with that key (for the city's seller) settle payments, others are
refused; a refund Alipay refuses says so; a late capture it won't refund is refundable by
hand; a trade of another amount stops the payment with an error for the staff."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl

import pytest

from app.money import yuan
from app.payments import signing
from app.payments.models import STARTED, SUCCESS, Payment
from app.payments.service import settle, transition
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import new_payment, paid_marks, reload
from tests.support.cities import host

MERCHANT_KEY = signing.generate_private_key()
ALIPAY_KEY = signing.generate_private_key()
APP_ID = "2021000000000009"
SELLER_ID = "2088000000000009"


class FakeAlipay(BaseHTTPRequestHandler):
    trades: dict = {}  # out_trade_no -> (trade_status, total_amount)
    requests: list = []
    refunds: dict = {}  # out_request_no -> refund_amount (a repeated request refunds once)
    refuse_refunds = False  # answer refunds as Alipay does when the balance is short

    def do_POST(self):
        params = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.requests.append(params)
        genuine = signing.verify(signing.content_to_sign(params), params.get("sign", ""),
                                 signing.public_key_of(MERCHANT_KEY))
        biz = json.loads(params.get("biz_content", "{}"))
        trade = self.trades.get(biz.get("out_trade_no"))
        if not genuine:
            node = {"code": "40002", "sub_code": "isv.invalid-signature"}
        elif trade is None:
            node = {"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        elif params["method"] == "alipay.trade.close":
            node = self.close(biz["out_trade_no"], trade)
        elif params["method"] == "alipay.trade.refund":
            node = self.refund(biz, trade)
        else:
            node = {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"],
                    "trade_no": "2026112922001", "trade_status": trade[0],
                    "total_amount": trade[1]}
        content = json.dumps(node)
        name = params["method"].replace(".", "_") + "_response"
        body = f'{{"{name}":{content},"sign":"{signing.sign(content, ALIPAY_KEY)}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def close(self, out_trade_no, trade):
        if trade[0] != "WAIT_BUYER_PAY":
            return {"code": "40004", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        self.trades[out_trade_no] = ("TRADE_CLOSED", trade[1])
        return {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no}

    def refund(self, biz, trade):
        if self.refuse_refunds:
            return {"code": "40004", "msg": "Business Failed",
                    "sub_code": "ACQ.SELLER_BALANCE_NOT_ENOUGH", "sub_msg": "卖家余额不足"}
        if trade[0] != "TRADE_SUCCESS":
            return {"code": "40004", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        self.refunds.setdefault(biz["out_request_no"], biz["refund_amount"])
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"],
                "fund_change": "Y", "refund_fee": biz["refund_amount"]}

    def log_message(self, *args):
        pass


@pytest.fixture()
def gateway():
    server = HTTPServer(("127.0.0.1", 0), FakeAlipay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAlipay.trades, FakeAlipay.requests, FakeAlipay.refunds = {}, [], {}
    FakeAlipay.refuse_refunds = False
    yield f"http://127.0.0.1:{server.server_port}/gateway.do"
    server.shutdown()


@pytest.fixture()
def town(app, make_city, gateway):
    tenant = make_city("ali", locale="en")
    with tenant_context(tenant, app):
        from app.payments import merchant

        merchant.configure(provider="alipay", app_id=APP_ID, private_key=MERCHANT_KEY,
                           public_key=signing.public_key_of(ALIPAY_KEY), gateway_url=gateway,
                           seller_id=SELLER_ID)
        db.session.commit()
    return tenant


def started(app, town, amount=2500) -> Payment:
    payment = new_payment(app, town, ((1, amount),))
    with tenant_context(town, app):
        transition(db.session.get(Payment, payment.id), STARTED, "test")
        db.session.commit()
    return payment


def test_a_query_over_https_settles_a_paid_trade(app, town):
    payment = started(app, town)
    with tenant_context(town, app):
        assert settle(db.session.get(Payment, payment.id)) is False  # Alipay has no trade yet
        db.session.commit()
    FakeAlipay.trades[payment.reference] = ("TRADE_SUCCESS", yuan(payment.amount_fen))
    with tenant_context(town, app):
        assert settle(db.session.get(Payment, payment.id)) is True
        db.session.commit()
    assert reload(app, town, payment.reference).status == SUCCESS
    assert FakeAlipay.requests[-1]["method"] == "alipay.trade.query"
    assert FakeAlipay.requests[-1]["app_id"] == APP_ID


def alipay_notification(payment, key=ALIPAY_KEY, **changes) -> dict:
    params = {"notify_time": "2026-11-29 10:00:00", "notify_type": "trade_status_sync",
              "notify_id": "n1", "app_id": APP_ID, "charset": "utf-8", "version": "1.0",
              "sign_type": "RSA2", "trade_no": "2026112922002", "seller_id": SELLER_ID,
              "out_trade_no": payment.reference, "trade_status": "TRADE_SUCCESS",
              "total_amount": yuan(payment.amount_fen), "subject": "Test payment", **changes}
    params["sign"] = signing.sign(signing.content_to_sign(params, ("sign", "sign_type")), key)
    return params


def test_alipays_notification_settles_and_a_forged_one_is_refused(app, client, town):
    payment = started(app, town)
    forged = alipay_notification(payment, key=MERCHANT_KEY)  # anyone's key but Alipay's
    answer = client.post("/payments/notify/alipay", data=forged, headers=host(town))
    assert (answer.status_code, answer.get_data(as_text=True)) == (400, "failure")
    assert reload(app, town, payment.reference).status == STARTED
    genuine = alipay_notification(payment)
    answer = client.post("/payments/notify/alipay", data=genuine, headers=host(town))
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    paid = reload(app, town, payment.reference)
    assert paid.status == SUCCESS and paid.trade_no == "2026112922002"
    assert len(paid_marks(app, town)) == 1
    # The sandbox's endpoint does not take Alipay's payments.
    assert client.post("/payments/notify/sandbox", data=genuine,
                       headers=host(town)).status_code == 400


def test_a_notification_for_another_seller_is_refused(app, client, town):
    payment = started(app, town)
    unnamed = {k: v for k, v in alipay_notification(payment).items() if k != "seller_id"}
    unnamed["sign"] = signing.sign(signing.content_to_sign(unnamed, ("sign", "sign_type")),
                                   ALIPAY_KEY)
    for refused in (alipay_notification(payment, seller_id="2088000000000001"), unnamed):
        answer = client.post("/payments/notify/alipay", data=refused, headers=host(town))
        assert (answer.status_code, answer.get_data(as_text=True)) == (400, "failure")
    assert reload(app, town, payment.reference).status == STARTED


def cancel_as_the_citizen(app, client, town, payment):
    from tests.app.payments.payments_support import remember
    from tests.conftest import form_token

    remember(client, town, payment)
    page = client.get(f"/payments/{payment.reference}", headers=host(town))
    answer = client.post(f"/payments/{payment.reference}/cancel", headers=host(town),
                         data={"csrf_token": form_token(page)})
    assert answer.status_code == 303


def test_cancelling_closes_the_trade_at_alipay(app, client, town):
    payment = started(app, town)
    FakeAlipay.trades[payment.reference] = ("WAIT_BUYER_PAY", yuan(payment.amount_fen))
    cancel_as_the_citizen(app, client, town, payment)
    assert reload(app, town, payment.reference).status == "cancelled"
    assert [r["method"] for r in FakeAlipay.requests] == ["alipay.trade.query",
                                                          "alipay.trade.close"]
    assert FakeAlipay.trades[payment.reference][0] == "TRADE_CLOSED"


def test_a_late_capture_alipay_will_not_refund_is_refunded_by_hand(app, client, town, caplog):
    from tests.support.accounts import signed_in_staff
    from tests.support.cities import post_form

    payment = started(app, town, amount=3000)
    cancel_as_the_citizen(app, client, town, payment)  # Alipay had no trade yet: nothing closed
    FakeAlipay.trades[payment.reference] = ("TRADE_SUCCESS", "30.00")  # the old link, paid
    FakeAlipay.refuse_refunds = True
    answer = client.post("/payments/notify/alipay", data=alipay_notification(payment),
                         headers=host(town))
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    late = reload(app, town, payment.reference)
    assert (late.status, late.captured_fen, late.refunded_fen) == ("cancelled", 3000, 0)
    assert late.events[-1].cause == "the automatic refund failed: refund it by hand"
    assert "ACQ.SELLER_BALANCE_NOT_ENOUGH" in caplog.text

    staff = app.test_client()
    signed_in_staff(app, staff, town, "cashier@example.com", role="admin")
    detail = staff.get(f"/admin/payments/{payment.reference}", headers=host(town))
    assert "Still refundable: ¥30.00." in detail.get_data(as_text=True)
    refused = post_form(staff, town, f"/admin/payments/{payment.reference}",
                        {"amount": "30.00", "reason": "Paid after cancelling"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "The payment provider refused this (ACQ.SELLER_BALANCE_NOT_ENOUGH)" in text
    assert "could not be reached" not in text
    FakeAlipay.refuse_refunds = False
    done = post_form(staff, town, f"/admin/payments/{payment.reference}",
                     {"amount": "30.00", "reason": "Paid after cancelling"})
    assert done.status_code == 302
    after = reload(app, town, payment.reference)
    assert (after.status, after.refunded_fen, after.refundable_fen) == ("cancelled", 3000, 0)
    assert list(FakeAlipay.refunds.values()) == ["30.00"]


def test_a_trade_of_another_amount_stops_the_payment_with_an_error(app, client, town):
    from app.notifications.models import Notification
    from tests.support.accounts import add_staff

    boss = add_staff(app, town, "boss@example.com", role="admin")
    payment = started(app, town)
    FakeAlipay.trades[payment.reference] = ("TRADE_SUCCESS", "0.01")
    cancel_as_the_citizen(app, client, town, payment)  # asks Alipay first
    stopped = reload(app, town, payment.reference)
    assert stopped.status == "error" and stopped.events[-1].message["total_amount"] == "0.01"
    assert all(not item.live for item in stopped.items)
    with tenant_context(town, app):
        import sqlalchemy as sa

        (alert,) = db.session.scalars(sa.select(Notification).where(
            Notification.event == "payment_needs_staff")).all()
        assert alert.user_id == boss["user_id"] and payment.reference in alert.body
