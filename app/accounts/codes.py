"""One-time codes sent by SMS: six digits that verify a mobile number or let its owner choose a
new password. A code is kept only as an HMAC (keyed with the app's secret, naming the city, the
account and the purpose), lives CODE_MINUTES, works once, and allows MAX_ATTEMPTS tries; a new
code replaces the account's earlier ones of the same purpose."""
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import OneTimeCode, User
from tenants.context import current_tenant
from tenants.db import db

VERIFY_MOBILE, RESET_PASSWORD = "verify-mobile", "reset-password"
CODE_MINUTES = 10
MAX_ATTEMPTS = 5


def _digest(user_id: int, purpose: str, code: str) -> str:
    message = f"{current_tenant().slug}:{user_id}:{purpose}:{code}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** 6):06d}"


def issue(user: User, purpose: str) -> str:
    """A new code for the account's mobile number (its earlier codes of `purpose` are gone),
    in the current transaction; returns the code to send."""
    db.session.execute(sa.delete(OneTimeCode).where(OneTimeCode.user_id == user.id,
                                                    OneTimeCode.purpose == purpose))
    code = _new_code()
    db.session.add(OneTimeCode(
        user_id=user.id, purpose=purpose, mobile=user.mobile, code_hash=_digest(
            user.id, purpose, code), expires_at=datetime.now(UTC) + timedelta(
            minutes=CODE_MINUTES)))
    return code


def issue_for_nobody(purpose: str) -> None:
    """The work of `issue` where there is no account, so both answers take as long."""
    _digest(0, purpose, _new_code())


def redeem(user: User | None, purpose: str, code: str) -> bool:
    """Whether `code` is the account's live code of `purpose` (then it is used up); every try
    counts against the code. The caller commits either way (the tries must be kept)."""
    typed = "".join((code or "").split())
    if user is None:
        _digest(0, purpose, typed)
        return False
    row = db.session.scalar(sa.select(OneTimeCode).where(
        OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose,
        OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > sa.func.now(),
        OneTimeCode.mobile == user.mobile).with_for_update())
    expected = _digest(user.id, purpose, typed)
    if row is None or row.attempts >= MAX_ATTEMPTS:
        return False
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, expected):
        return False
    row.used_at = datetime.now(UTC)
    return True
