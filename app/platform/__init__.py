"""The vendor's site, on PLATFORM_HOST: the landing page, and the platform console under
/console for vendor staff (app/platform/auth.py): the fleet of cities, provisioning, plans, the
city lifecycle, impersonation and the platform audit log.

Every view of this package's blueprint `platform` is served on the platform host only
(tenants/routing.py). Pages of the console extend platform/console/layout.html."""
from app.platform import (  # noqa: F401  (their routes and commands)
    account,
    audit_log,
    cli,
    exports,
    fleet,
    fleet_migrations,
    impersonation,
    lifecycle,
    plans,
    provision,
    second_factors,
    views,
)
from app.platform.blueprint import bp

__all__ = ["bp"]
