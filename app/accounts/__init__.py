"""Citizen accounts of the bound city: passwords (Argon2), signed links, sign-in.

Links for email verification and password reset are signed with the app's secret and a salt
naming the purpose and the city, so a link made for one city or purpose is worthless for
another. A reset link carries a fingerprint of the current password hash: once the password
changes, every older link stops working. Each sign-in is a row of `account_sessions`
(sessions.py): signing out, a password change and a staff member's removal delete rows.
"""
import re
from datetime import UTC, datetime

import phonenumbers
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.accounts.models import AccountSession, User
from app.accounts.sessions import SignIns
from app.extensions import login_manager
from tenants.context import current_tenant, tenant_context
from tenants.db import db
from tenants.signals import tenant_suspended

hasher = PasswordHasher()
# Checked against when the account doesn't exist, so both answers take as long.
_DUMMY_HASH = hasher.hash("not a password of anyone")

VERIFY_EMAIL, RESET_PASSWORD = "verify-email", "reset-password"
LINK_LIFETIME = {VERIFY_EMAIL: 48 * 3600, RESET_PASSWORD: 3600}
MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidLink(Exception):
    """A verification or reset link that is forged, expired, already used or for another city."""


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() or None if email else None


def normalize_mobile(mobile: str | None) -> str | None:
    """A mainland China number as stored, its 11 digits, however written (+86 or 0086 before
    it, spaces, dashes, brackets: the `phonenumbers` library reads them); None if it is no
    phone number, or another country's."""
    if not mobile or not mobile.strip():
        return None
    try:
        number = phonenumbers.parse(mobile, "CN")
    except phonenumbers.NumberParseException:
        return None
    return str(number.national_number) if number.country_code == 86 else None


def identifier_key(identifier: str | None) -> str:
    """An email address or mobile number as one account's throttling budgets name it: every way
    of writing the same one (case, spaces, +86, dashes) gives the same key."""
    identifier = " ".join((identifier or "").split())
    if "@" in identifier:
        return normalize_email(identifier) or ""
    return normalize_mobile(identifier) or identifier.lower()


def is_mobile(value: str) -> bool:
    return bool(MOBILE.match(normalize_mobile(value) or ""))


def hash_password(password: str) -> str:
    return hasher.hash(password)


def find_user(identifier: str) -> User | None:
    """The account of an email address or a mobile number, in the bound city."""
    identifier = (identifier or "").strip()
    if "@" in identifier:
        column, value = User.email, normalize_email(identifier)
    else:
        column, value = User.mobile, normalize_mobile(identifier)
    return db.session.scalar(sa.select(User).where(column == value)) if value else None


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with no hash (no such account, or no
    password yet) it checks against a dummy, so both answers take as long."""
    try:
        hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def rehashed(password_hash: str, password: str) -> str:
    """The hash to keep for a password that just matched `password_hash`: a new one when the
    hashing parameters have changed since."""
    return hash_password(password) if hasher.check_needs_rehash(password_hash) else password_hash


def authenticate(identifier: str, password: str) -> User | None:
    """The active account with this identifier and password, or None (in the same time
    whether the account is unknown or the password wrong)."""
    user = find_user(identifier)
    if not check_password(user.password_hash if user else None, password):
        return None
    if not user.is_active:
        return None
    user.password_hash = rehashed(user.password_hash, password)
    user.last_login_at = datetime.now(UTC)
    return user


def authenticate_form(form) -> User | None:
    """The account of a sign-in form (fields identifier and password), its last sign-in
    recorded; or None, with the same message on the password field whether the account is
    unknown or the password wrong."""

    user = authenticate(form.identifier.data, form.password.data)
    if user is None:
        db.session.rollback()
        form.password.errors.append(
            _("The email address or mobile number and password do not match an account."))
        return None
    db.session.commit()
    return user


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key,
                                  salt=f"{purpose}:{current_tenant().slug}")


def make_link_token(purpose: str, user: User) -> str:
    payload = {"uid": user.id}
    if purpose == VERIFY_EMAIL:
        payload["email"] = user.email
    else:
        payload["pw"] = user.password_fingerprint()
    return _serializer(purpose).dumps(payload)


def user_for_link(purpose: str, token: str) -> User:
    try:
        payload = _serializer(purpose).loads(token, max_age=LINK_LIFETIME[purpose])
    except SignatureExpired:
        raise InvalidLink("expired") from None
    except BadSignature:
        raise InvalidLink("invalid") from None
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active:
        raise InvalidLink("invalid")
    if purpose == VERIFY_EMAIL and payload.get("email") != user.email:
        raise InvalidLink("invalid")
    if purpose == RESET_PASSWORD and payload.get("pw") != user.password_fingerprint():
        raise InvalidLink("used")
    return user


sign_ins = SignIns(AccountSession, "user_id", "account_session")


def sign_in(user: User, **columns) -> AccountSession:
    """Sign `user` in on this browser: a new sign-in row (committed) in a fresh cookie
    session."""
    row = sign_ins.start(user, **columns)
    db.session.commit()
    login_user(user)
    return row


def sign_out() -> None:
    """End this browser's sign-in (its row too) and start a fresh cookie session."""
    logout_user()
    sign_ins.end()


def current_sign_in() -> AccountSession | None:
    return sign_ins.current() if g.get("tenant") is not None else None


def open_support_session() -> AccountSession | None:
    """The bound city's support session (app/impersonation.py) open now, if any."""
    return db.session.scalar(sa.select(AccountSession).where(
        AccountSession.impersonator.is_not(None), AccountSession.expires_at > sa.func.now())
        .order_by(AccountSession.expires_at.desc()).limit(1))


@tenant_suspended.connect
def _end_sign_ins_of_suspended_city(app, tenant, **_kwargs) -> None:
    """A suspended city's sign-ins end at once: its staff sign in again (to the console, which
    tells them), support sessions are over."""
    with tenant_context(tenant, app):
        db.session.execute(sa.delete(AccountSession))
        db.session.commit()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in account, on a city site only (the session cookie is the city's own): the
    account of this browser's sign-in row, while the row exists, is unexpired and the account
    active."""
    row = current_sign_in()
    if row is None or str(row.user_id) != user_id or not row.user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        return None
    return row.user
