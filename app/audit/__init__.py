"""The city's audit log: who changed what, when, with the values before and after. `record`
adds the entry to the current transaction, so it is committed with the change it describes or
not at all; nothing in the app edits or deletes entries (nor can the city's database role).
The console shows the log (search, csv_rows); forms.py has its filter."""
import json
from datetime import date, timedelta

import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.city_time import city_midnight
from app.impersonation import current_impersonation
from tenants.db import db

PAGE_SIZE = 50
CSV_LIMIT = 100_000
CSV_HEADER = ("id", "occurred_at", "actor", "action", "target", "before", "after")


def actor_of(user) -> str:
    """How the log names a person of the city: `user:<id>:<email or mobile>`, followed by
    ` via platform:<vendor staff id>` while vendor staff impersonate them
    (app/impersonation.py)."""
    actor = f"user:{user.id}:{user.email or user.mobile or ''}"
    impersonation = current_impersonation()
    if impersonation is not None and impersonation["user_id"] == user.id:
        return f"{actor} via platform:{impersonation['vendor_id']}"
    return actor


def record(actor: str, action: str, target: str = "", before=None, after=None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, before=before, after=after)
    db.session.add(entry)
    return entry


def search(actor: str | None = None, action: str | None = None, date_from: date | None = None,
           date_to: date | None = None) -> sa.Select:
    """Entries, newest first: `actor` anywhere in the actor's name; `action` a prefix of the
    action ("staff.", "module.") or a module key (the action's first part, or the target);
    dates inclusive, in the city's time zone."""
    query = sa.select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor.icontains(actor.strip(), autoescape=True))
    if action:
        action = action.strip()
        query = query.where(sa.or_(
            AuditEntry.action.startswith(action, autoescape=True),
            AuditEntry.target == action))
    if date_from:
        query = query.where(AuditEntry.occurred_at >= city_midnight(date_from))
    if date_to:
        query = query.where(AuditEntry.occurred_at < city_midnight(date_to + timedelta(days=1)))
    return query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())


def _as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""


def csv_rows(entries):
    """The rows of the CSV export, under CSV_HEADER (app.spreadsheets.export.csv_download)."""
    for entry in entries:
        yield [entry.id, entry.occurred_at.isoformat(), entry.actor, entry.action, entry.target,
               _as_json(entry.before), _as_json(entry.after)]
