"""What both sides of Alipay's open API share (the real gateway's client and the built-in
sandbox): RSA2 as Alipay uses it — SHA256withRSA (PKCS#1 v1.5) over the parameters sorted by
name and joined as `k=v&k=v`, base64-encoded; keys in PEM, or bare base64 as Alipay's console
gives them — and its timestamps, Beijing time."""
import base64
import binascii
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALIPAY_TIME_ZONE = ZoneInfo("Asia/Shanghai")


def alipay_time(moment: datetime) -> str:
    return moment.astimezone(ALIPAY_TIME_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def content_to_sign(params: dict, exclude=("sign",)) -> str:
    """`k=v&…` of the non-empty parameters, sorted by name (requests exclude `sign`; received
    notifications exclude `sign` and `sign_type`)."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params)
                    if key not in exclude and params[key] not in (None, ""))


def sign(content: str, private_key_pem: str) -> str:
    key = _private(private_key_pem)
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(content: str, signature: str, public_key_pem: str) -> bool:
    try:
        raw = base64.b64decode(signature or "", validate=True)
        _public(public_key_pem).verify(raw, content.encode("utf-8"), padding.PKCS1v15(),
                                       hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def generate_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_key_of(private_key_pem: str) -> str:
    return _private(private_key_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def normalized_private_key(text: str) -> str:
    """PEM (PKCS#8) of an RSA private key given as PEM or bare base64 (PKCS#1 or PKCS#8);
    ValueError if it is not one."""
    return _private(text).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")


def normalized_public_key(text: str) -> str:
    return _public(text).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _der(text: str) -> bytes:
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise ValueError("not a key in PEM or base64") from error


@lru_cache(maxsize=256)
def _private(text: str) -> rsa.RSAPrivateKey:
    """Loading checks the key, which takes tens of milliseconds: each key is loaded once per
    process."""
    try:  # DER: PKCS#8, or PKCS#1 as Alipay's key tool writes it
        key = serialization.load_der_private_key(_der(text), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@lru_cache(maxsize=256)
def _public(text: str) -> rsa.RSAPublicKey:
    try:  # DER: SubjectPublicKeyInfo, or PKCS#1
        key = serialization.load_der_public_key(_der(text))
    except ValueError:
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
