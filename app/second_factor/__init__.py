"""The second factor of everyone who signs in to a console — city staff (app/admin/) and vendor
staff (app/platform/): TOTP (RFC 6238, pyotp) with single-use recovery codes.

An account that has a second factor carries `totp_secret_encrypted`, `totp_confirmed_at` and
`totp_last_step`; its recovery codes are rows of a table with `code_hash` and `used_at`.
`SecondFactor(RecoveryCodeModel, RecoveryCodeModel.owner_column)` binds these functions to one
kind of account. The consoles' sign-in pages, the same for both, are console.py; their forms,
forms.py."""
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno
import sqlalchemy as sa

from app import crypto
from tenants.db import db

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
TOTP, RECOVERY_CODE = "totp", "recovery_code"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri`, an SVG as a data: URI (the CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def enrolment(secret: str, account: str, issuer: str) -> dict:
    """What a set-up page shows: the QR code, and the key in groups of four for typing."""
    return {"qr": qr_data_uri(provisioning_uri(secret, account, issuer)),
            "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))}


def pending_secret(session, key: str, owner: str) -> str:
    """The secret being enrolled by `owner` (an account id as the session knows it), kept in
    the session under `key` between showing the QR code and confirming it."""
    pending = session.get(key)
    if not isinstance(pending, dict) or pending.get("uid") != owner:
        pending = {"uid": owner, "secret": new_secret()}
        session[key] = pending
    return pending["secret"]


def _digits(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step whose code `code` is (now, or one step either side), provided it is
    later than `last_step`, the last one accepted: each code works once."""
    code = _digits(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    found = None
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (
                last_step is None or step > last_step):
            found = step
    return found


def _normalize(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


class SecondFactor:
    """The second factor of one kind of account, whose recovery codes are `code_model` rows
    pointing at their account with `owner_column`."""

    def __init__(self, code_model, owner_column):
        self.code_model = code_model
        self.owner_column = owner_column

    def check_totp(self, account, code: str) -> bool:
        """Whether `code` is the account's current code (then it is used up)."""
        if not account.totp_secret_encrypted:
            return False
        step = matching_step(crypto.decrypt(account.totp_secret_encrypted), code,
                             account.totp_last_step)
        if step is None:
            return False
        account.totp_last_step = step
        return True

    def confirm(self, account, secret: str, step: int) -> list[str]:
        """Store the confirmed secret (encrypted) and replace the recovery codes; returns the
        new codes, which are shown once and kept only as hashes."""
        account.totp_secret_encrypted = crypto.encrypt(secret)
        account.totp_confirmed_at = datetime.now(UTC)
        account.totp_last_step = step
        return self.new_recovery_codes(account)

    def new_recovery_codes(self, account) -> list[str]:
        """Replace the account's recovery codes; returns the new ones (shown once, kept only as
        hashes)."""
        db.session.execute(sa.delete(self.code_model).where(self.owner_column == account.id))
        codes = []
        for _code in range(RECOVERY_CODE_COUNT):
            raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
            db.session.add(self.code_model(**{self.owner_column.key: account.id},
                                           code_hash=_hash(raw)))
        return codes

    def use_recovery_code(self, account, code: str) -> bool:
        """Whether `code` is one of the account's unused recovery codes (then it is used up;
        the row is locked, so two requests can't both use it)."""
        if len(_normalize(code)) != 10:
            return False
        row = db.session.scalar(sa.select(self.code_model).where(
            self.owner_column == account.id, self.code_model.code_hash == _hash(code),
            self.code_model.used_at.is_(None)).with_for_update())
        if row is None:
            return False
        row.used_at = datetime.now(UTC)
        return True

    def verify(self, account, code: str) -> str | None:
        """TOTP if `code` is the current TOTP code, RECOVERY_CODE if it is an unused recovery
        code (either is then used up), else None. The caller commits."""
        if self.check_totp(account, code):
            return TOTP
        if self.use_recovery_code(account, code):
            return RECOVERY_CODE
        return None

    def reset(self, account) -> None:
        """Remove the account's second factor and recovery codes (a lost phone): it is set up
        again at the next sign-in. The caller ends the account's sign-ins and commits."""
        account.totp_secret_encrypted = account.totp_confirmed_at = None
        account.totp_last_step = None
        db.session.execute(sa.delete(self.code_model).where(self.owner_column == account.id))

    def recovery_codes_left(self, account) -> int:
        return db.session.scalar(sa.select(sa.func.count(self.code_model.id)).where(
            self.owner_column == account.id, self.code_model.used_at.is_(None)))
