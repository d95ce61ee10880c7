"""The fleet: every city at a glance — status, domains, plan, enabled modules, schema version
(and whether it is behind head), schema size, citizens, last activity — searchable and
filterable, a page at a time; and one city's page with its details and history.

The city list comes from the tenant directory (in memory). A page's figures come from the
database in ONE query whatever the page's size (`city_figures`): schema versions
(platform.city_versions), sizes (pg_total_relation_size summed per schema) and each city's
citizens, last activity and enabled modules (platform.city_stats). The "behind head" filter
needs every city's version: one more query (platform.city_versions over the fleet, in chunks
of 1,000). The console reads this as the platform's owner role, as the CLI does: it is the
vendor's view over all cities, never a city's own transaction."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from app.platform.auth import platform_staff_required
from app.platform.blueprint import bp
from app.web.forms import INVALID_FORM
from tenants.context import directory
from tenants.db import db
from tenants.directory import TenantInfo
from tenants.migrations import city_versions, tenant_head
from tenants.models import ACTIVE, RETIRED, SUSPENDED, Plan
from tenants.placement import placements

PAGE_SIZE = 50
HISTORY_SIZE = 50

_FIGURES_SQL = sa.text(
    """
    SELECT s.schema_name, v.version_num, st.citizens, st.last_activity, st.modules,
           coalesce(sz.bytes, 0) AS size_bytes
    FROM unnest(CAST(:schemas AS text[])) AS s(schema_name)
    LEFT JOIN platform.city_versions(:schemas) v ON v.schema_name = s.schema_name
    LEFT JOIN platform.city_stats(:schemas) st ON st.schema_name = s.schema_name
    LEFT JOIN (
        SELECT n.nspname, sum(pg_total_relation_size(c.oid)) AS bytes
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'm', 'p')
        GROUP BY n.nspname
    ) sz ON sz.nspname = s.schema_name
    """
)


@dataclass(frozen=True)
class CityRow:
    tenant: TenantInfo
    version: str | None
    behind: bool
    size_bytes: int
    citizens: int | None
    last_activity: datetime | None
    modules: tuple[str, ...]


def city_figures(tenants: list[TenantInfo]) -> list[CityRow]:
    """The figures of these cities, in their order, from one query."""
    if not tenants:
        return []
    head = tenant_head()
    with db.engine.connect() as connection:
        rows = {row.schema_name: row for row in connection.execute(
            _FIGURES_SQL, {"schemas": [t.schema for t in tenants]})}
    return [CityRow(tenant=t, version=rows[t.schema].version_num,
                    behind=rows[t.schema].version_num != head,
                    size_bytes=int(rows[t.schema].size_bytes),
                    citizens=rows[t.schema].citizens, last_activity=rows[t.schema].last_activity,
                    modules=tuple(rows[t.schema].modules or ())) for t in tenants]


class FleetFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search: GET, changes nothing

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)],
                    description=_l("Part of a slug, a name or a domain."))
    status = SelectField(_l("Status"), validators=[Optional()], choices=[], default="")
    plan = SelectField(_l("Plan"), validators=[Optional()], choices=[], default="")
    version = SelectField(_l("Schema version"), validators=[Optional()], default="", choices=[
        SelectChoice("", _l("Any")), SelectChoice("behind", _l("Behind head")),
        SelectChoice("current", _l("At head"))])

    def __init__(self, plans: list[Plan], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [SelectChoice("", _l("Any")), SelectChoice(ACTIVE, _l("Active")),
                               SelectChoice(SUSPENDED, _l("Suspended")),
                               SelectChoice(RETIRED, _l("Retired"))]
        self.plan.choices = [SelectChoice("", _l("Any")), SelectChoice("-", _l("No plan"))] + [
            SelectChoice(plan.key) for plan in plans]


def _matches(tenant: TenantInfo, form: FleetFilterForm) -> bool:
    text = (form.q.data or "").strip().lower()
    if text and not any(text in value.lower() for value in (
            tenant.slug, tenant.name, tenant.name_zh, *tenant.domains)):
        return False
    if form.status.data and tenant.status != form.status.data:
        return False
    if form.plan.data == "-":
        return tenant.plan is None
    return not form.plan.data or tenant.plan == form.plan.data


def _by_version(tenants: list[TenantInfo], wanted: str) -> list[TenantInfo]:
    """Keep the cities behind head ("behind") or at head ("current"): every version in one
    query (chunked past 1,000 cities)."""
    head = tenant_head()
    with db.engine.connect() as connection:
        versions = city_versions(connection, [t.schema for t in tenants])
    return [t for t in tenants if (versions[t.schema] != head) == (wanted == "behind")]


def all_plans() -> list[Plan]:
    return db.session.scalars(sa.select(Plan).order_by(Plan.key)).all()


@bp.get("/console/")
@platform_staff_required()
def fleet():
    plans = all_plans()
    form = FleetFilterForm(plans, request.args)
    if not form.validate():
        return render_template("platform/console/fleet.html", form=form, rows=[], page=1,
                               pages=1, total=0, filters={}, head=tenant_head()), INVALID_FORM
    tenants = [t for t in directory().all() if _matches(t, form)]
    if form.version.data:
        tenants = _by_version(tenants, form.version.data)
    pages = max(1, -(-len(tenants) // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = city_figures(tenants[(page - 1) * PAGE_SIZE:page * PAGE_SIZE])
    filters = {key: request.args[key] for key in ("q", "status", "plan", "version")
               if request.args.get(key)}
    return render_template("platform/console/fleet.html", form=form, rows=rows, page=page,
                           pages=pages, total=len(tenants), filters=filters, head=tenant_head(),
                           plan_names={plan.key: plan for plan in plans},
                           nodes=placements())


def tenant_or_404(slug: str) -> TenantInfo:
    tenant = directory().get(slug)
    if tenant is None:
        abort(404)
    return tenant
