"""What the tenancy layer tells the rest of the application (blinker signals, as Flask's own).

`tenant_deleted` is sent once a city's deletion has committed (`flask tenants delete`, or the
purge of a retired city), in the application context that deleted it:

    tenant_deleted.send(app, tenant=<TenantInfo>, action="tenant.delete" | "tenant.purge")

`tenant_created` is sent once a new city has committed (provisioned, or imported from an
archive by `flask tenants import`), in the application context that made it:
`tenant_created.send(app, tenant=<TenantInfo>)`. Receivers must be quick
(defer a job for anything slow: app.payments makes the city's sandbox keys that way).

`tenant_suspended` is sent once a city's suspension has committed (`flask tenants suspend`,
the console): `tenant_suspended.send(app, tenant=<TenantInfo>)`; app.accounts ends every
sign-in of the city (support sessions too).

Receivers of tenant_deleted clean up what lives outside the database (app.branding removes
the city's uploads folder). The database work is done by then and cannot be undone: a receiver
that fails is logged and does not make the deletion fail, nor keep the other receivers from
running (the same holds for tenant_created).
"""
import logging

from blinker import Namespace

log = logging.getLogger(__name__)

_signals = Namespace()

tenant_deleted = _signals.signal("tenant-deleted")
tenant_created = _signals.signal("tenant-created")
tenant_suspended = _signals.signal("tenant-suspended")


def send_robustly(signal, sender, **kwargs) -> None:
    """Call every receiver of `signal` for `sender`; one that raises is logged, the others
    still run."""
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception("a receiver of %s failed (%r)", signal.name, receiver)


__all__ = ["send_robustly", "tenant_created", "tenant_deleted", "tenant_suspended"]
