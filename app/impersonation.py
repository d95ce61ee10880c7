"""Impersonation: vendor staff (platform console) enter a city's administration console as one
of its staff members, for IMPERSONATION_MINUTES, through a signed single-use link.

1. The platform console (app/platform/impersonation.py) records a platform.impersonations row
   with a random nonce and its expiry, writes the platform audit entry, and shows a link to
   the city's host carrying a token signed with a salt naming the city (`make_link_token`).
2. The city's console (app/admin/impersonation.py) checks the token (`read_link_token`: the
   signature, the city, LINK_SECONDS of age at most), asks the visitor to confirm, then uses
   the nonce up through platform_api.enter_impersonation — once, while the impersonation is
   unexpired, the vendor account active and the city active; that also adds the platform audit
   entry — and writes the city's audit entry, in the same transaction.
3. The session it opens is marked (IMPERSONATION_KEY): it skips the city's second factor (the
   vendor passed the platform's), every action in it is recorded in the city's audit log as
   "user:… via platform:<vendor id>", the console shows a banner, and it ends at expiry.
"""
from datetime import UTC, datetime

from flask import current_app, has_request_context, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

IMPERSONATION_MINUTES = 30
LINK_SECONDS = 120
IMPERSONATION_KEY = "impersonation"


class InvalidImpersonationLink(Exception):
    """Forged, expired, for another city, or used already."""


def _serializer(slug: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"impersonation:{slug}")


def make_link_token(slug: str, vendor_id: int, member_id: int, nonce: str,
                    expires_at: datetime) -> str:
    return _serializer(slug).dumps({"v": vendor_id, "s": member_id, "n": nonce,
                                    "exp": int(expires_at.timestamp())})


def read_link_token(slug: str, token: str) -> dict:
    """The payload of a link made for the city `slug`, at most LINK_SECONDS old."""
    try:
        payload = _serializer(slug).loads(token, max_age=LINK_SECONDS)
    except BadSignature:  # SignatureExpired too
        raise InvalidImpersonationLink() from None
    if not isinstance(payload, dict) or not {"v", "s", "n", "exp"} <= payload.keys():
        raise InvalidImpersonationLink()
    return payload


def current_impersonation() -> dict | None:
    """The impersonation of this session (vendor_id, vendor_email, user_id, member_email,
    expires_at as an aware datetime), or None."""
    marked = session.get(IMPERSONATION_KEY) if has_request_context() else None
    if not isinstance(marked, dict):
        return None
    return {**marked, "expires_at": datetime.fromtimestamp(marked["expires_at"], UTC)}


def is_expired(impersonation: dict) -> bool:
    return impersonation["expires_at"] <= datetime.now(UTC)
