"""The sandbox provider: Alipay's side of the flow, played by the app for development, demos and
tests. It keeps its own record of trades (SandboxTrade), checks the merchant's RSA2 signature on
every request, and signs its answers and notifications with the city's sandbox gateway key, in
Alipay's message format. Its checkout page (views.sandbox_gateway) lets the tester approve or
decline; the notification then comes asynchronously, through a job (tasks.sandbox_notify)."""
import json
import secrets
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import insert

from app.money import fen_of
from app.payments import merchant, signing
from app.payments.models import SandboxTrade
from app.payments.signing import ALIPAY_TIME_ZONE, alipay_time
from tenants.db import db

WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED = "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED"
CHECKOUT_METHODS = ("alipay.trade.page.pay", "alipay.trade.wap.pay")
BAD_SIGNATURE = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
SUCCESS = {"code": "10000", "msg": "Success"}


def _failed(sub_code: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code}


class SandboxRefused(ValueError):
    """A checkout request the sandbox does not accept (bad signature, amount, expired…)."""


def _verified_biz(params: dict) -> dict | None:
    """The request's biz_content, if the merchant signed it and it is for this city."""
    _gateway_key, merchant_public = merchant.sandbox_keys()
    if (params.get("app_id") != merchant.sandbox_app_id()
            or not signing.verify(signing.content_to_sign(params), params.get("sign", ""),
                                  merchant_public)):
        return None
    try:
        biz = json.loads(params.get("biz_content", ""))
    except ValueError:
        return None
    return biz if isinstance(biz, dict) else None


def _trade(out_trade_no: str | None, lock: bool = False) -> SandboxTrade | None:
    query = sa.select(SandboxTrade).where(SandboxTrade.out_trade_no == (out_trade_no or ""))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def answer(params: dict) -> str:
    """The gateway's answer to an API call (query, close, refund), as Alipay's JSON text."""
    biz = _verified_biz(params)
    method = params.get("method", "")
    name = method.replace(".", "_") + "_response"
    if biz is None:
        name, node = "error_response", BAD_SIGNATURE
    else:
        trade = _trade(biz.get("out_trade_no"), lock=True)
        if trade is None:
            node = _failed("ACQ.TRADE_NOT_EXIST")
        elif method == "alipay.trade.query":
            node = {**SUCCESS, "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
                    "trade_status": trade.trade_status, "total_amount": trade.total_amount}
        elif method == "alipay.trade.close":
            if trade.trade_status == WAIT_BUYER_PAY:
                trade.trade_status = TRADE_CLOSED
            node = ({**SUCCESS, "out_trade_no": trade.out_trade_no}
                    if trade.trade_status == TRADE_CLOSED else
                    _failed("ACQ.TRADE_STATUS_ERROR"))
        elif method == "alipay.trade.refund":
            node = _refund(trade, fen_of(biz.get("refund_amount")))
        else:
            name, node = "error_response", {"code": "40002", "msg": "Invalid Arguments",
                                            "sub_code": "isv.invalid-method"}
        db.session.flush()
    return _signed_answer(name, node)


def _refund(trade: SandboxTrade, amount_fen: int | None) -> dict:
    total = fen_of(trade.total_amount)
    if (trade.trade_status != TRADE_SUCCESS or not amount_fen or amount_fen <= 0
            or trade.refunded_amount_fen + amount_fen > total):
        return _failed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    trade.refunded_amount_fen += amount_fen
    return {**SUCCESS, "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
            "fund_change": "Y", "refund_fee": f"{trade.refunded_amount_fen / 100:.2f}"}


def _signed_answer(name: str, node: dict) -> str:
    gateway_key, _merchant_public = merchant.sandbox_keys()
    content = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return f'{{"{name}":{content},"sign":"{signing.sign(content, gateway_key)}"}}'


def _gateway_signed(params: dict) -> dict:
    gateway_key, _merchant_public = merchant.sandbox_keys()
    params = {**params, "sign_type": "RSA2", "charset": "utf-8", "version": "1.0",
              "app_id": merchant.sandbox_app_id()}
    params["sign"] = signing.sign(
        signing.content_to_sign(params, exclude=("sign", "sign_type")), gateway_key)
    return params


def checkout(params: dict, lock: bool = False) -> tuple[SandboxTrade, dict]:
    """The trade of a checkout request (page.pay or wap.pay), opened on first sight, with the
    request's biz_content; SandboxRefused if the request is not one the merchant signed."""
    biz = _verified_biz(params)
    if biz is None or params.get("method") not in CHECKOUT_METHODS:
        raise SandboxRefused(_l("the request is not signed by this city's merchant key"))
    amount = fen_of(biz.get("total_amount"))
    out_trade_no = biz.get("out_trade_no")
    if not amount or amount <= 0 or not out_trade_no:
        raise SandboxRefused(_l("the request has no trade number or amount"))
    db.session.execute(insert(SandboxTrade).values(
        out_trade_no=out_trade_no, trade_no=datetime.now(ALIPAY_TIME_ZONE).strftime("%Y%m%d")
        + secrets.token_hex(8), total_amount=biz["total_amount"], trade_status=WAIT_BUYER_PAY,
    ).on_conflict_do_nothing())
    trade = _trade(out_trade_no, lock=lock)
    if fen_of(trade.total_amount) != amount:
        raise SandboxRefused(_l("the amount differs from the trade's"))
    return trade, biz


def decide(trade: SandboxTrade, biz: dict, params: dict, approve: bool) -> dict | None:
    """The tester's answer on the checkout page for a (locked) trade: the notification to send,
    or None when the trade was already decided. A trade past its time_expire is declined."""
    if trade.trade_status != WAIT_BUYER_PAY:
        return None
    expired = biz.get("time_expire", "9999") < alipay_time(datetime.now(ALIPAY_TIME_ZONE))
    trade.trade_status = TRADE_SUCCESS if approve and not expired else TRADE_CLOSED
    now = alipay_time(datetime.now(ALIPAY_TIME_ZONE))
    notification = {
        "notify_time": now, "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
        "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
        "trade_status": trade.trade_status, "total_amount": trade.total_amount,
        "subject": biz.get("subject", ""), "gmt_create": alipay_time(trade.created_at)}
    if trade.trade_status == TRADE_SUCCESS:
        notification.update(gmt_payment=now, receipt_amount=trade.total_amount,
                            buyer_pay_amount=trade.total_amount)
    return _gateway_signed(notification)


def return_location(trade: SandboxTrade, params: dict) -> str:
    """Where the browser goes back to: the merchant's return_url with Alipay's signed return
    parameters (never proof of payment to the merchant)."""
    back = _gateway_signed({
        "method": params.get("method", "") + ".return", "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no, "total_amount": trade.total_amount,
        "timestamp": alipay_time(datetime.now(ALIPAY_TIME_ZONE))})
    return_url = params.get("return_url", "")
    separator = "&" if urlsplit(return_url).query else "?"
    return f"{return_url}{separator}{urlencode(back)}"
