"""Encryption at rest for secrets the app must read back: a city's OpenID Connect client
secrets today, payment merchant keys later. Never for passwords (those are hashed, see
app/accounts.py).

    from app import crypto
    token = crypto.encrypt("s3cret")      # a str, safe to store in a TEXT column
    crypto.decrypt(token)                 # "s3cret"; raises crypto.DecryptionError if the
                                          # token was altered or made with another key

Tokens are Fernet (AES-128-CBC with HMAC-SHA256, timestamped) from `cryptography`. The key is
the setting DATA_ENCRYPTION_KEY: a url-safe base64 encoding of 32 random bytes, made with

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

To rotate, put the new key first and keep the old ones after it, comma-separated: new values
are encrypted with the first key, and values made with any listed key still decrypt.

In production the app refuses to start without it. In development and test, when it is unset,
a key is derived from SECRET_KEY with HKDF-SHA256 (salt and info below), so values stay
readable between runs of the same development database and nothing needs configuring; such a
key is only as secret as SECRET_KEY, which is why production does not accept it.

The key lives in configuration only, never in the database: a copy of the database alone does
not reveal what was encrypted.
"""
import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from config.settings import ConfigurationError

HKDF_SALT = b"civiccloud/data-encryption-key"
HKDF_INFO = b"development and test fallback, derived from SECRET_KEY, v1"


class DecryptionError(Exception):
    """The token was altered, is not a token, or was encrypted with a key no longer listed."""


def development_key(secret_key: str) -> bytes:
    """The key used outside production when DATA_ENCRYPTION_KEY is unset: deterministic, so the
    same SECRET_KEY always gives the same key."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _parse_keys(setting: str) -> tuple[bytes, ...]:
    keys = []
    for position, text in enumerate(part.strip() for part in setting.split(",")):
        try:
            valid = len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32
        except (binascii.Error, UnicodeEncodeError, ValueError):
            valid = False
        if not valid:
            raise ConfigurationError(
                f"DATA_ENCRYPTION_KEY: key {position + 1} is not a url-safe base64 encoding of "
                "32 bytes (make one with Fernet.generate_key())"
            )
        keys.append(text.encode("ascii"))
    return tuple(keys)


def keys_from_config(config) -> tuple[bytes, ...]:
    """The configured keys, first one used to encrypt; raises ConfigurationError when the
    setting is malformed, or missing in production."""
    setting = (config.get("DATA_ENCRYPTION_KEY") or "").strip()
    if setting:
        return _parse_keys(setting)
    if config.get("CIVIC_ENV") == "production":
        raise ConfigurationError("DATA_ENCRYPTION_KEY must be set in production")
    return (development_key(config["SECRET_KEY"]),)


def check_configuration(config) -> None:
    """Fail at start-up, not at the first secret, when the key setting is unusable."""
    keys_from_config(config)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(keys_from_config(current_app.config))


def encrypt(text: str) -> str:
    """Encrypt `text` with the first configured key; the token is ASCII."""
    return _current().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text that `encrypt` was given; DecryptionError if the token can't be trusted."""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as error:
        raise DecryptionError("the value cannot be decrypted with the configured keys") from error


@lru_cache(maxsize=16)
def _digest_key(key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT,
                info=f"keyed digest: {purpose}".encode()).derive(base64.urlsafe_b64decode(key))


def keyed_digest(text: str, purpose: str) -> str:
    """A stable HMAC-SHA256 (hex) of `text` for finding equal values that are stored only
    encrypted (an ID card number), under a key derived from the first configured key for
    `purpose`. Without the key, the digest of a guessable value can't be tested offline.
    Rotating the first key changes every digest (values digested before no longer match)."""
    key = _digest_key(keys_from_config(current_app.config)[0], purpose)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
