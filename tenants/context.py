"""Which city the current code works for. It is always explicit: a request binds the city of
its Host header; commands, jobs and tests say `with tenant_context(city):`."""
from contextlib import contextmanager

from flask import Flask, current_app, g

from tenants.db import TenantNotBound
from tenants.directory import TenantDirectory, TenantInfo


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
    only; the session is closed on exit."""
    app = app or current_app._get_current_object()
    if isinstance(tenant, str):
        slug, tenant = tenant, app.extensions["tenant_directory"].get(tenant)
        if tenant is None:
            raise LookupError(f"no city with the slug {slug!r}")
    with app.app_context():
        bind_tenant(tenant)
        yield tenant
