"""RSA2 as Alipay defines it, checked independently with `cryptography`."""
import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.money import fen_of, yuan
from app.payments import signing
from app.payments.providers import AlipayClient, verified_response


@pytest.fixture(scope="module")
def key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1
                                serialization.NoEncryption()).decode()
    return key, private, signing.public_key_of(private)


def test_the_string_to_sign_is_sorted_and_skips_empty_values_and_sign():
    params = {"b": "2", "a": "1", "sign": "x", "empty": "", "c": "中文 & =", "none": None}
    assert signing.content_to_sign(params) == "a=1&b=2&c=中文 & ="
    assert signing.content_to_sign({**params, "sign_type": "RSA2"}, ("sign", "sign_type")) \
        == "a=1&b=2&c=中文 & ="


def test_signatures_verify_independently(key_pair):
    key, private, public = key_pair
    content = "app_id=2021000000000000&biz_content={\"total_amount\":\"0.01\"}&charset=utf-8"
    signature = signing.sign(content, private)
    # The same check any Alipay SDK does: SHA256withRSA, PKCS#1 v1.5, base64.
    key.public_key().verify(base64.b64decode(signature), content.encode(), padding.PKCS1v15(),
                            hashes.SHA256())
    assert signing.verify(content, signature, public)
    assert not signing.verify(content + "x", signature, public)
    assert not signing.verify(content, "not base64!", public)


def test_bare_base64_keys_as_alipays_console_gives_them(key_pair):
    _key, private, public = key_pair
    bare_private = "".join(private.strip().splitlines()[1:-1])
    bare_public = "".join(public.strip().splitlines()[1:-1])
    signature = signing.sign("a=1", signing.normalized_private_key(bare_private))
    assert signing.verify("a=1", signature, signing.normalized_public_key(bare_public))
    with pytest.raises(ValueError):
        signing.normalized_private_key("not a key")
    with pytest.raises(ValueError):
        signing.normalized_public_key(bare_private)


def test_a_signed_request_carries_every_common_parameter(key_pair):
    from app.payments.merchant import Credentials

    _key, private, public = key_pair
    client = AlipayClient("alipay", Credentials("2021000000000000", private, public, "gw"),
                          transport=None, gateway_url="https://gw.example/gateway.do")
    params = client.signed("alipay.trade.query", {"out_trade_no": "abc"})
    assert {"app_id", "method", "format", "charset", "sign_type", "timestamp", "version",
            "biz_content", "sign"} <= set(params)
    assert params["sign_type"] == "RSA2"
    assert signing.verify(signing.content_to_sign(params), params["sign"], public)


def test_an_api_answer_is_verified_over_its_exact_text(key_pair):
    _key, private, public = key_pair
    node = '{"code":"10000","msg":"Success","total_amount":"12.30"}'
    body = f'{{"alipay_trade_query_response":{node},"sign":"{signing.sign(node, private)}"}}'
    assert verified_response(body, "alipay.trade.query", public)["total_amount"] == "12.30"
    from app.payments.errors import ProviderError

    with pytest.raises(ProviderError):
        verified_response(body.replace("12.30", "1.30"), "alipay.trade.query", public)


def test_amounts_in_yuan():
    assert yuan(1234) == "12.34" and yuan(5) == "0.05" and yuan(100) == "1.00"
    assert fen_of("12.34") == 1234 and fen_of("12.3") == 1230
    assert fen_of("1.234") is None and fen_of("abc") is None and fen_of(None) is None
    assert fen_of("Infinity") is None and fen_of("NaN") is None
