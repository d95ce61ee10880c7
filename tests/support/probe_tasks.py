"""Tasks that only the tests declare: they try to cross the boundaries a job must keep and
record what happened, in their own city's audit log or the platform's."""
import logging

import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from app.audit.models import AuditEntry
from app.branding.models import Branding
from tenants.context import current_tenant
from tenants.db import TenantNotBound, db
from tenants.jobs import city_task, platform_task


@city_task("probe.read_other_city")
def read_other_city(other_schema: str) -> str:
    try:
        db.session.execute(sa.text(f"SELECT count(*) FROM {other_schema}.audit_log")).scalar()
        outcome = "read"
    except ProgrammingError:
        db.session.rollback()
        outcome = "denied"
    db.session.add(AuditEntry(actor="probe", action=f"probe.{outcome}",
                              target=current_tenant().slug))
    db.session.commit()
    return outcome


@platform_task("probe.city_data_without_city")
def city_data_without_city(marker: str) -> str:
    try:
        db.session.get(Branding, 1)
        outcome = "read"
    except TenantNotBound:
        outcome = "refused"
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO platform.audit_log (actor, action, detail) "
            "VALUES ('probe', :action, CAST(:detail AS jsonb))"),
            {"action": f"probe.{outcome}", "detail": f'{{"marker": "{marker}"}}'})
    return outcome


@city_task("probe.fail")
def fail() -> None:
    raise RuntimeError("this job fails on purpose")


@city_task("probe.log_line")
def log_line(text: str) -> None:
    logging.getLogger("civic.probe").info(text)
