"""What the bound city's plan allows (platform.plans, given to a city by tenants.plan): the
modules its administrators may enable and the staff seats it has (app/staff/seats.py counts
them). A city without a plan is not
limited.

The city reads its own plan through the view platform_api.city_entitlements, in its own
transaction and as its own database role: the view shows each role only its own city's row,
so a city never reads another city's plan (nor anything else of the platform schema)."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g

from tenants.context import current_tenant
from tenants.db import db

_ENTITLEMENTS_SQL = sa.text(
    "SELECT plan, limited, modules, staff_seats FROM platform_api.city_entitlements")


@dataclass(frozen=True)
class Entitlements:
    plan: str | None
    modules: frozenset[str] | None  # None: any module
    staff_seats: int | None  # None: no limit

    def allows(self, module_key: str) -> bool:
        return self.modules is None or module_key in self.modules


def current_entitlements() -> Entitlements:
    """The bound city's entitlements, read once per request, command or job."""
    current_tenant()  # fails closed when no city is bound
    if "entitlements" not in g:
        row = db.session.execute(_ENTITLEMENTS_SQL).one()  # exactly one: its own
        g.entitlements = Entitlements(
            plan=row.plan, modules=frozenset(row.modules or ()) if row.limited else None,
            staff_seats=row.staff_seats if row.limited else None)
    return g.entitlements
