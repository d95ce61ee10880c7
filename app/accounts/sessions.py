"""Server-side sign-ins: every sign-in is a row (a city's `account_sessions`, the platform's
`staff_sessions`) and the browser's signed cookie carries only a random token whose SHA-256
names the row. Deleting the row ends that sign-in at its next request, whatever the browser
kept: signing out, a password change (the other devices), a staff member removed or their
second factor reset, a city suspended. "My account" lists the rows as signed-in devices.

Why rows rather than a per-account "session generation" number: a generation can only end all
of an account's sessions at once, while a row per sign-in also lets someone see their devices
and sign out one of them, and carries what belongs to one sign-in only (its second factor,
a support session's end).

Signing in or out starts a new cookie session (only the language choice is kept), so nothing
of an earlier sign-in on the browser — a passed second factor, a half-done enrolment — stays.
"""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import g, request, session

from tenants.db import db

TOKEN_BYTES = 32
# last_seen_at is written at most this often per sign-in (not on every request).
TOUCH_EVERY = timedelta(minutes=1)
KEPT_ACROSS_SIGN_IN = ("locale",)  # the language chosen on this browser


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fresh_session() -> None:
    """Empty the browser's cookie session but for its language choice."""
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)


class SignIns:
    """The sign-ins of one kind of account: rows of `model`, whose `owner` column names the
    account, found through the cookie session's `cookie_key`."""

    def __init__(self, model, owner: str, cookie_key: str):
        self.model, self.owner, self.cookie_key = model, owner, cookie_key
        self.owner_column = getattr(model, owner)

    def start(self, account, **columns):
        """A new sign-in of `account` on this browser, in the current transaction (the caller
        commits): a fresh cookie session holding its token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = self.model(**{self.owner: account.id}, token_hash=_hash(token),
                         user_agent=request.user_agent.string[:300], **columns)
        db.session.add(row)
        db.session.flush()
        fresh_session()
        session[self.cookie_key] = token
        g.setdefault("sign_ins", {})[self.cookie_key] = row
        return row

    def current(self):
        """This browser's sign-in (read once per request), or None if it has none or it was
        ended; its last_seen_at is brought up to date now and then."""
        cache = g.setdefault("sign_ins", {})
        if self.cookie_key not in cache:
            token = session.get(self.cookie_key)
            row = db.session.scalar(sa.select(self.model).where(
                self.model.token_hash == _hash(token))) if isinstance(token, str) else None
            if row is not None and datetime.now(UTC) - row.last_seen_at > TOUCH_EVERY:
                # A request's first statements: nothing of the view is pending yet.
                db.session.execute(sa.update(self.model).where(self.model.id == row.id)
                                   .values(last_seen_at=sa.func.now()))
                db.session.commit()
            cache[self.cookie_key] = row
        return cache[self.cookie_key]

    def end(self) -> None:
        """Sign this browser out: its row is deleted (committed) and its cookie session
        emptied."""
        row = self.current()
        if row is not None:
            db.session.execute(sa.delete(self.model).where(self.model.id == row.id))
            db.session.commit()
        g.setdefault("sign_ins", {})[self.cookie_key] = None
        fresh_session()

    def end_all(self, account_id: int, keep=None) -> int:
        """End every sign-in of the account (but `keep`, a row), in the current transaction;
        returns how many."""
        query = sa.delete(self.model).where(self.owner_column == account_id)
        if keep is not None:
            query = query.where(self.model.id != keep.id)
        return db.session.execute(query).rowcount

    def end_one(self, account_id: int, row_id: int) -> bool:
        """End one sign-in of the account (a device signed out from another), in the current
        transaction; False if it has no such sign-in."""
        return db.session.execute(sa.delete(self.model).where(
            self.owner_column == account_id, self.model.id == row_id)).rowcount == 1

    def of(self, account_id: int) -> list:
        """The account's sign-ins, the most recently seen first."""
        return db.session.scalars(sa.select(self.model).where(self.owner_column == account_id)
                                  .order_by(self.model.last_seen_at.desc())).all()

    def pass_second_factor(self) -> None:
        """Record that this sign-in passed the second factor (the caller commits)."""
        self.current().second_factor_at = datetime.now(UTC)


# -- devices, as "My account" names them --------------------------------------------------------

_BROWSERS = (("MicroMessenger", "WeChat"), ("AlipayClient", "Alipay"), ("Edg/", "Edge"),
             ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("HarmonyOS", "HarmonyOS"), ("Android", "Android"), ("iPhone", "iPhone"),
            ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_summary(user_agent: str) -> tuple[str | None, str | None]:
    """(browser, system) as a person knows them, e.g. ("Firefox", "Windows"); None where the
    user agent string does not say."""
    def first(table):
        return next((name for marker, name in table if marker in user_agent), None)

    return first(_BROWSERS), first(_SYSTEMS)
