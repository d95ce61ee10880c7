"""The providers, behind one interface: `provider_for(name)` gives a client that builds the
checkout URL, verifies notifications, and queries, closes and refunds trades.

Both providers speak Alipay's open API (RSA2-signed requests, signed responses and
notifications); only the transport differs: Alipay is reached over HTTPS at its gateway URL,
the sandbox (app/payments/sandbox.py) answers in-process, and its checkout page is on the city's
own host. So the sandbox runs exactly the code paths a real Alipay payment runs."""
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import requests
from flask import url_for

from app import outbound
from app.money import fen_of, yuan
from app.payments import merchant, sandbox, signing
from app.payments.errors import AmountMismatch, ProviderError, ProviderRefused
from app.payments.models import SANDBOX, Payment, Refund
from app.payments.signing import ALIPAY_TIME_ZONE, alipay_time

log = logging.getLogger(__name__)

SUCCESS_CODE = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


@dataclass(frozen=True)
class Trade:
    """What the provider says of a trade (a verified query answer)."""
    status: str
    trade_no: str | None
    total_fen: int | None
    message: dict


class AlipayClient:
    """The Alipay open API for one city's credentials, over `transport(params) -> body`."""

    def __init__(self, name: str, credentials: merchant.Credentials,
                 transport: Callable[[dict], str], gateway_url: str | None):
        self.name, self.credentials = name, credentials
        self.transport, self.gateway_url = transport, gateway_url

    def signed(self, method: str, biz: dict, **extra) -> dict:
        params = {"app_id": self.credentials.app_id, "method": method, "format": "JSON",
                  "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
                  "timestamp": alipay_time(datetime.now(ALIPAY_TIME_ZONE)),
                  "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
                  **extra}
        params["sign"] = signing.sign(signing.content_to_sign(params), self.credentials.private_key)
        return params

    def checkout_url(self, payment: Payment, return_url: str, notify_url: str,
                     mobile: bool, quit_url: str | None = None) -> str:
        """Where the citizen's browser goes to pay: alipay.trade.wap.pay on phones (with
        `quit_url`, where Alipay's mobile cashier sends a citizen who gives up),
        alipay.trade.page.pay elsewhere."""
        method, product = (("alipay.trade.wap.pay", "QUICK_WAP_WAY") if mobile
                           else ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"))
        biz = {"out_trade_no": payment.out_trade_no, "total_amount": yuan(payment.amount_fen),
               "subject": payment.description, "product_code": product,
               "time_expire": alipay_time(payment.expires_at)}
        if mobile and quit_url:
            biz["quit_url"] = quit_url
        params = self.signed(method, biz, return_url=return_url, notify_url=notify_url)
        # The sandbox's checkout page is on the city's own host (None: this request's).
        gateway_url = self.gateway_url or url_for("payments.sandbox_gateway")
        return f"{gateway_url}?{urlencode(params)}"

    def verify_notification(self, params: dict) -> bool:
        """Alipay's rule: without sign and sign_type, sorted, verified with its public key."""
        content = signing.content_to_sign(params, exclude=("sign", "sign_type"))
        return (params.get("sign_type", "RSA2") == "RSA2"
                and signing.verify(content, params.get("sign", ""),
                                   self.credentials.provider_public_key))

    def call(self, method: str, biz: dict) -> dict:
        """A signed API call; the verified response (its code checked by the caller)."""
        try:
            body = self.transport(self.signed(method, biz))
        except requests.RequestException as error:
            log.warning("%s %s failed: %s", self.name, method, error)
            raise ProviderError() from error
        return verified_response(body, method, self.credentials.provider_public_key)

    def query(self, payment: Payment) -> Trade | None:
        """The trade's state at the provider; None if it has never seen it."""
        answer = self.call("alipay.trade.query", {"out_trade_no": payment.out_trade_no})
        if answer.get("sub_code") == TRADE_NOT_EXIST:
            return None
        if answer.get("code") != SUCCESS_CODE or answer.get("out_trade_no") != payment.out_trade_no:
            raise ProviderError()
        total = fen_of(answer.get("total_amount"))
        if total != payment.amount_fen:
            log.error("%s says payment %s is for %s", self.name, payment.reference,
                      answer.get("total_amount"))
            raise AmountMismatch(answer, payment=payment)
        return Trade(answer.get("trade_status", ""), answer.get("trade_no"), total, answer)

    def close(self, payment: Payment) -> None:
        """No payment is accepted for the trade any more."""
        answer = self.call("alipay.trade.close", {"out_trade_no": payment.out_trade_no})
        if answer.get("code") != SUCCESS_CODE and answer.get("sub_code") != TRADE_NOT_EXIST:
            raise refused(self.name, "alipay.trade.close", answer, payment)

    def refund(self, payment: Payment, refund: Refund) -> dict:
        answer = self.call("alipay.trade.refund", {
            "out_trade_no": payment.out_trade_no, "refund_amount": yuan(refund.amount_fen),
            "out_request_no": refund.reference, "refund_reason": refund.reason})
        if answer.get("code") != SUCCESS_CODE:
            raise refused(self.name, "alipay.trade.refund", answer, payment)
        return answer


def refused(provider: str, method: str, answer: dict, payment: Payment) -> ProviderRefused:
    """The error for a call the provider answered with a refusal, logged with its codes."""
    log.warning("%s refused %s for payment %s: code=%s sub_code=%s sub_msg=%s", provider,
                method, payment.reference, answer.get("code"), answer.get("sub_code"),
                answer.get("sub_msg"))
    return ProviderRefused(str(answer.get("sub_code") or answer.get("code") or ""),
                           payment=payment)


def verified_response(body: str, method: str, public_key: str) -> dict:
    """The `<method>_response` (or `error_response`) object of an API answer, its signature
    checked over its exact text as received."""
    try:
        document = json.loads(body)
        name = next(key for key in (method.replace(".", "_") + "_response", "error_response")
                    if key in document)
        start = body.index(f'"{name}"')
        start = body.index("{", start + len(name) + 2)
        answer, end = json.JSONDecoder().raw_decode(body, start)
    except (ValueError, StopIteration) as error:
        raise ProviderError() from error
    if not signing.verify(body[start:end], document.get("sign", ""), public_key):
        log.warning("the answer to %s has a bad signature", method)
        raise ProviderError()
    return answer


def _https_transport(gateway_url: str) -> Callable[[dict], str]:
    def post(params: dict) -> str:
        with outbound.session() as session:
            response = session.post(gateway_url, data=params)  # the guard's timeouts
        response.raise_for_status()
        return response.text

    return post


def provider_for(name: str) -> AlipayClient:
    """The client of the bound city's provider `name` (sandbox or alipay)."""
    credentials = merchant.credentials(name)
    if name == SANDBOX:
        return AlipayClient(name, credentials, sandbox.answer, gateway_url=None)
    return AlipayClient(name, credentials, _https_transport(credentials.gateway_url),
                        credentials.gateway_url)


