"""The platform audit log: every vendor action (console and CLI), searchable by person, action,
city and dates (UTC), a page at a time, and as CSV."""
import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Response, abort, render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.audit.forms import AuditFilterForm
from app.platform.auth import platform_staff_required
from app.platform.blueprint import bp
from app.spreadsheets.export import spreadsheet_safe
from app.web.forms import INVALID_FORM
from app.web.pagination import requested_page
from tenants.db import db
from tenants.models import PlatformAuditEntry

PAGE_SIZE = 50
CSV_LIMIT = 100_000
FILTERS = ("actor", "action", "city", "date_from", "date_to")


class PlatformAuditFilterForm(AuditFilterForm):
    city = StringField(_l("City"), validators=[Optional(), Length(max=40)],
                       description=_l("The city's slug."))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def search(actor=None, action=None, city=None, date_from=None, date_to=None) -> sa.Select:
    """Entries, newest first: `actor` anywhere in the actor's name, `action` a prefix of the
    action ("tenant.", "plan."), `city` a slug, dates inclusive (UTC)."""
    query = sa.select(PlatformAuditEntry)
    if actor:
        query = query.where(PlatformAuditEntry.actor.icontains(actor.strip(), autoescape=True))
    if action:
        query = query.where(PlatformAuditEntry.action.startswith(action.strip(), autoescape=True))
    if city:
        query = query.where(PlatformAuditEntry.tenant_slug == city.strip())
    if date_from:
        query = query.where(PlatformAuditEntry.occurred_at >= _midnight(date_from))
    if date_to:
        query = query.where(PlatformAuditEntry.occurred_at < _midnight(date_to + timedelta(1)))
    return query.order_by(PlatformAuditEntry.occurred_at.desc(), PlatformAuditEntry.id.desc())


def _query():
    form = PlatformAuditFilterForm(request.args)
    if not form.validate():
        return form, None
    return form, search(*(form[name].data for name in FILTERS))


def as_csv(entries) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "occurred_at", "actor", "action", "city", "detail"])
    for entry in entries:
        writer.writerow([entry.id, entry.occurred_at.isoformat(), *map(spreadsheet_safe, (
            entry.actor, entry.action, entry.tenant_slug,
            json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)))])
    return out.getvalue()


@bp.get("/console/audit")
@platform_staff_required()
def audit_log():
    form, query = _query()
    page = requested_page(PAGE_SIZE)
    entries, more = [], False
    if query is not None:
        rows = db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
        entries, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    filters = {key: request.args[key] for key in FILTERS if request.args.get(key)}
    return render_template("platform/console/audit.html", form=form, entries=entries, page=page,
                           more=more, filters=filters), (200 if query is not None else INVALID_FORM)


@bp.get("/console/audit.csv")
@platform_staff_required()
def audit_csv():
    form, query = _query()
    if query is None:
        abort(400)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"platform-audit-{stamp}.csv"
    return Response("\ufeff" + as_csv(db.session.scalars(query.limit(CSV_LIMIT))),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
