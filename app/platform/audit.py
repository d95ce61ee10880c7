"""The platform audit log as the console writes and reads it (platform.audit_log, rows only ever
added). `record` adds the entry to the current transaction of db.session, so it is committed
with the change it describes or not at all."""
from tenants.db import db
from tenants.models import PlatformAuditEntry, PlatformStaff


def actor_of(staff: PlatformStaff) -> str:
    """How the platform audit log names a vendor staff member: `platform:<id>:<email>`."""
    return f"platform:{staff.id}:{staff.email}"


def record(actor: str, action: str, tenant_slug: str | None = None,
           **detail) -> PlatformAuditEntry:
    entry = PlatformAuditEntry(actor=actor, action=action, tenant_slug=tenant_slug,
                               detail=detail)
    db.session.add(entry)
    return entry
