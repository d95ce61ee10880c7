"""TOTP (RFC 6238, pyotp) and recovery codes for staff."""
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno
import sqlalchemy as sa

from app import crypto
from app.models.staff import RecoveryCode, StaffMember
from tenants.db import db

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri`, an SVG as a data: URI (the CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


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


def check_totp(staff: StaffMember, code: str) -> bool:
    """Whether `code` is the staff member's current code (then it is used up)."""
    if not staff.totp_secret_encrypted:
        return False
    step = matching_step(crypto.decrypt(staff.totp_secret_encrypted), code, staff.totp_last_step)
    if step is None:
        return False
    staff.totp_last_step = step
    return True


def confirm(staff: StaffMember, secret: str, step: int) -> list[str]:
    """Store the confirmed secret (encrypted) and replace the recovery codes; returns the new
    codes, which are shown once and kept only as hashes."""
    staff.totp_secret_encrypted = crypto.encrypt(secret)
    staff.totp_confirmed_at = datetime.now(UTC)
    staff.totp_last_step = step
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(staff_id=staff.id, code_hash=_hash(raw)))
    return codes


def _normalize(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def use_recovery_code(staff: StaffMember, code: str) -> bool:
    """Whether `code` is one of the staff member's unused recovery codes (then it is used up;
    the row is locked, so two requests can't both use it)."""
    if len(_normalize(code)) != 10:
        return False
    row = db.session.scalar(sa.select(RecoveryCode).where(
        RecoveryCode.staff_id == staff.id, RecoveryCode.code_hash == _hash(code),
        RecoveryCode.used_at.is_(None)).with_for_update())
    if row is None:
        return False
    row.used_at = datetime.now(UTC)
    return True


def recovery_codes_left(staff: StaffMember) -> int:
    return db.session.scalar(sa.select(sa.func.count(RecoveryCode.id)).where(
        RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None)))
