"""The Alipay provider over real HTTP: a local stand-in for Alipay's gateway checks the
merchant's signature and answers alipay.trade.query signed with "Alipay's" key; notifications
signed with that key settle payments, others are refused."""
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


class FakeAlipay(BaseHTTPRequestHandler):
    trades: dict = {}  # out_trade_no -> (trade_status, total_amount)
    requests: list = []

    def do_POST(self):  # noqa: N802  (http.server's name)
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

    def log_message(self, *args):
        pass


@pytest.fixture()
def gateway():
    server = HTTPServer(("127.0.0.1", 0), FakeAlipay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAlipay.trades, FakeAlipay.requests = {}, []
    yield f"http://127.0.0.1:{server.server_port}/gateway.do"
    server.shutdown()


@pytest.fixture()
def town(app, make_city, gateway):
    tenant = make_city("ali", locale="en")
    with tenant_context(tenant, app):
        from app.payments import merchant

        merchant.configure(provider="alipay", app_id=APP_ID, private_key=MERCHANT_KEY,
                           public_key=signing.public_key_of(ALIPAY_KEY), gateway_url=gateway)
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


def test_a_query_answer_with_another_amount_changes_nothing(app, town):
    from app.payments.errors import ProviderError

    payment = started(app, town)
    FakeAlipay.trades[payment.reference] = ("TRADE_SUCCESS", "0.01")
    with tenant_context(town, app), pytest.raises(ProviderError):
        settle(db.session.get(Payment, payment.id))
    assert reload(app, town, payment.reference).status == STARTED


def alipay_notification(payment, key=ALIPAY_KEY, **changes) -> dict:
    params = {"notify_time": "2026-11-29 10:00:00", "notify_type": "trade_status_sync",
              "notify_id": "n1", "app_id": APP_ID, "charset": "utf-8", "version": "1.0",
              "sign_type": "RSA2", "trade_no": "2026112922002",
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
