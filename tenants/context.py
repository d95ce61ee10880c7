"""Which city the current code works for. It is always explicit: a request binds the city of
its Host header; commands, jobs and tests say `with tenant_context(city):`.

A retired city has disappeared: its hosts answer 404 (tenants.routing) and `tenant_context`
refuses it (CityRetired), so no command or job runs its code until it is restored. Its data is
still there for the platform's own work on it (migrations, restore, purge), which names its
schema and never binds it."""
from contextlib import contextmanager
from datetime import UTC

from flask import Flask, current_app, g

from tenants.db import TenantNotBound
from tenants.directory import TenantDirectory, TenantInfo
from tenants.models import RETIRED


class CityRetired(LookupError):
    """The city is retired: nothing runs as it until `flask tenants restore` brings it back."""

    def __init__(self, tenant: TenantInfo):
        until = (f" until {tenant.purge_after.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                 if tenant.purge_after else "")
        super().__init__(
            f"the city {tenant.slug!r} is retired (its data is kept{until}); restore it first: "
            f"flask tenants restore {tenant.slug}"
        )
        self.tenant = tenant


def directory() -> TenantDirectory:
    return current_app.extensions["tenant_directory"]


def current_tenant() -> TenantInfo:
    tenant = g.get("tenant")
    if tenant is None:
        raise TenantNotBound("no city is bound to this request, command or job")
    return tenant


def bind_tenant(tenant: TenantInfo) -> None:
    """Bind the current application context (one request) to `tenant`, before any query."""
    if g.get("tenant") is not None and g.tenant.slug != tenant.slug:
        raise RuntimeError(f"already bound to {g.tenant.slug}; one context serves one city")
    g.tenant = tenant


@contextmanager
def tenant_context(tenant: TenantInfo | str, app: Flask | None = None):
    """Run a block as `tenant` (a TenantInfo or a slug) in a new application context of `app`
    (default: the current one), so it gets a database session of its own that serves this city
    only; the session is closed on exit. An unknown city raises LookupError, a retired one
    CityRetired (a LookupError too)."""
    app = app or current_app._get_current_object()
    if isinstance(tenant, str):
        slug, cities = tenant, app.extensions["tenant_directory"]
        tenant = cities.get(slug)
        if tenant is None or tenant.status == RETIRED:
            # This process's directory may lag a creation or a restore by up to its refresh
            # interval: ask the database before refusing (commands and jobs, not requests).
            cities.mark_stale()
            tenant = cities.get(slug)
        if tenant is None:
            raise LookupError(f"no city with the slug {slug!r}")
    if tenant.status == RETIRED:
        raise CityRetired(tenant)
    with app.app_context():
        bind_tenant(tenant)
        yield tenant
