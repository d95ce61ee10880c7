"""The city's audit log as the console writes and reads it. `record` adds the entry to the
current transaction, so it is committed with the change it describes or not at all. Nothing in
the app edits or deletes entries."""
import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.models import AuditEntry
from tenants.context import current_tenant
from tenants.db import db

PAGE_SIZE = 50
CSV_LIMIT = 100_000


def actor_of(user) -> str:
    """How the log names a person of the city: `user:<id>:<email or mobile>`, followed by
    ` via platform:<vendor staff id>` while vendor staff impersonate them
    (app/impersonation.py)."""
    from app.impersonation import current_impersonation

    actor = f"user:{user.id}:{user.email or user.mobile or ''}"
    impersonation = current_impersonation()
    if impersonation is not None and impersonation["user_id"] == user.id:
        return f"{actor} via platform:{impersonation['vendor_id']}"
    return actor


def record(actor: str, action: str, target: str = "", before=None, after=None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, before=before, after=after)
    db.session.add(entry)
    return entry


def _city_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_tenant().timezone))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(actor: str | None = None, action: str | None = None, date_from: date | None = None,
           date_to: date | None = None) -> sa.Select:
    """Entries, newest first: `actor` anywhere in the actor's name; `action` a prefix of the
    action ("staff.", "module.") or a module key (the action's first part, or the target);
    dates inclusive, in the city's time zone."""
    query = sa.select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor.ilike(f"%{_escape_like(actor.strip())}%",
                                                   escape="\\"))
    if action:
        action = action.strip()
        query = query.where(sa.or_(
            AuditEntry.action.like(f"{_escape_like(action)}%", escape="\\"),
            AuditEntry.target == action))
    if date_from:
        query = query.where(AuditEntry.occurred_at >= _city_midnight(date_from))
    if date_to:
        query = query.where(AuditEntry.occurred_at < _city_midnight(date_to + timedelta(days=1)))
    return query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(entries) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "occurred_at", "actor", "action", "target", "before", "after"])
    for entry in entries:
        writer.writerow([entry.id, entry.occurred_at.isoformat(), _cell(entry.actor),
                         _cell(entry.action), _cell(entry.target),
                         _cell(json.dumps(entry.before, ensure_ascii=False, sort_keys=True)
                               if entry.before is not None else ""),
                         _cell(json.dumps(entry.after, ensure_ascii=False, sort_keys=True)
                               if entry.after is not None else "")])
    return out.getvalue()
