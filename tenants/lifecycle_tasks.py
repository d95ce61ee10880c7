"""The periodic jobs of the cities' lifecycle: the daily purge of retired cities whose retention
period has passed. Imported by create_app before the jobs are bound (tenants.jobs.init_app)."""
import logging

from tenants.jobs import platform_task
from tenants.provisioning import purge_retired, when

log = logging.getLogger(__name__)

PURGE_RETIRED = "tenants.purge_retired"


class PurgeFailed(RuntimeError):
    """Some retired cities could not be purged (the others were): the job fails, so that
    `flask jobs status` shows it; those cities stay retired and the next run tries again."""


@platform_task(PURGE_RETIRED, cron="17 3 * * *")
def purge_retired_cities() -> list[str]:
    """Every day at 03:17: drop the retired cities whose purge_after has passed. Returns the
    slugs purged."""
    report = purge_retired(by=f"job:{PURGE_RETIRED}")
    for tenant in report:
        log.info("purged the retired city %s (schema %s, retired %s, purge after %s)",
                 tenant.slug, tenant.schema, when(tenant.retired_at), when(tenant.purge_after))
    for tenant, reason in report.failed:
        log.error("could not purge the retired city %s: %s", tenant.slug, reason)
    if report.failed:
        raise PurgeFailed(f"{len(report.failed)} retired city(ies) could not be purged: "
                          + "; ".join(f"{t.slug}: {reason}" for t, reason in report.failed)
                          + f" ({len(report)} purged)")
    if not report:
        log.info("no retired city is due for purge")
    return [tenant.slug for tenant in report]


__all__ = ["PURGE_RETIRED", "PurgeFailed", "purge_retired_cities"]
