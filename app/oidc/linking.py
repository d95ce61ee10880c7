"""Which account of the city a verified OpenID sign-in belongs to. The first sign-in with an
identity (provider, `sub`) links it to an account of the city:

1. an account already linked to that identity;
2. else, when the provider says the email address is verified, the account with that address
   (if that account had not confirmed the address itself, its password is removed: whoever set
   it did not prove they own the address, and the change ends their sessions);
3. else a new account, with the email address only when verified and not someone else's.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError

from app.accounts import normalize_email, sign_ins
from app.accounts.models import User
from app.audit import record
from app.oidc.models import OidcProvider, UserIdentity
from tenants.db import db

LINKED, CREATED = "link", "create"  # what a first sign-in did (also in the audit action)


def _email_verified(claims: dict) -> bool:
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def account_for(provider: OidcProvider, claims: dict) -> tuple[User, str | None, bool] | None:
    """(account, LINKED or CREATED or None, password removed) for verified claims, or None if
    the account is disabled. Commits. When two first sign-ins of one identity race, the loser
    finds the winner's link on its second try."""
    for attempt in (1, 2):
        try:
            outcome = _link(provider, claims)
            if outcome is not None:
                outcome[0].last_login_at = datetime.now(UTC)
            db.session.commit()
            return outcome
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    return None


def _link(provider: OidcProvider, claims: dict) -> tuple[User, str | None, bool] | None:
    subject = str(claims["sub"])
    email = claims.get("email")
    reported_email = normalize_email(email) if isinstance(email, str) else None
    verified_email = reported_email if _email_verified(claims) else None

    identity = db.session.scalar(sa.select(UserIdentity).where(
        UserIdentity.provider_id == provider.id, UserIdentity.subject == subject))
    if identity is not None:
        identity.email = reported_email
        user = db.session.get(User, identity.user_id)
        return (user, None, False) if user.is_active else None

    password_removed = False
    user = db.session.scalar(sa.select(User).where(User.email == verified_email)) \
        if verified_email else None
    if user is not None:
        if not user.is_active:
            return None
        if user.email_verified_at is None:
            # Nobody had proved owning this address here, so whoever chose the password may
            # not be its owner: the owner keeps the account, the password and every sign-in
            # made with it go.
            user.email_verified_at = datetime.now(UTC)
            password_removed = bool(user.password_hash)
            user.password_hash = None
            sign_ins.end_all(user.id)
        change = LINKED
    else:
        user = User(email=verified_email, display_name=str(claims.get("name") or "")[:100],
                    locale=str(get_locale()),  # the language its citizen was using
                    email_verified_at=datetime.now(UTC) if verified_email else None)
        db.session.add(user)
        db.session.flush()
        change = CREATED
    db.session.add(UserIdentity(provider_id=provider.id, subject=subject, user_id=user.id,
                                email=reported_email))
    record(f"user:{user.id}", f"account.oidc_{change}", f"user:{user.id}", None,
           {"provider": provider.key, "subject": subject, "email": verified_email,
            "password_removed": password_removed})
    db.session.flush()
    return user, change, password_removed
