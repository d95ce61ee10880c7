"""Fleet migrations from the console: which cities are behind the tenant migration head, a run
that migrates all of them or those chosen (one job per city, `fleet.migrate_city`, each with
tenants.migrations.migrate_tenants), its progress and per-city results (ok, error, duration),
and a retry of the cities that failed as a new run. Runs and results are kept in
platform.fleet_migration_runs and platform.fleet_migration_results; starting and retrying are
recorded in the platform audit log.
"""
import logging

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField

from app.platform import audit
from app.platform.auth import PLATFORM_ADMIN, current_platform_staff, platform_staff_required
from app.platform.blueprint import bp
from app.platform.exports import REFRESH_SECONDS
from app.web.forms import INVALID_FORM
from tenants.context import directory
from tenants.db import db
from tenants.jobs import defer, platform_task
from tenants.migrations import city_versions, migrate_tenants, tenant_head
from tenants.models import (
    RESULT_FAILED,
    RESULT_QUEUED,
    RESULT_RUNNING,
    FleetMigrationResult,
    FleetMigrationRun,
)

log = logging.getLogger(__name__)

MIGRATE_CITY_TASK = "fleet.migrate_city"


def cities_behind() -> list[tuple]:
    """(TenantInfo, its schema version) of every city not at the tenant migration head, retired
    ones included (they may be restored)."""
    cities = directory()
    cities.mark_stale()
    tenants = cities.all()
    with db.engine.connect() as connection:
        versions = city_versions(connection, [tenant.schema for tenant in tenants])
    head = tenant_head()
    return [(tenant, versions[tenant.schema]) for tenant in tenants
            if versions[tenant.schema] != head]


def start_run(slugs: list[str], actor: str, retry_of: int | None = None) -> FleetMigrationRun:
    """Record a run of these cities and queue one job per city."""
    run = FleetMigrationRun(started_by=actor, target_revision=tenant_head(), retry_of=retry_of,
                            results=[FleetMigrationResult(tenant_slug=slug) for slug in slugs])
    db.session.add(run)
    db.session.flush()
    audit.record(actor, "fleet.migration_retry" if retry_of else "fleet.migration_start", None,
                 run_id=run.id, cities=sorted(slugs), target=run.target_revision,
                 retry_of=retry_of)
    db.session.commit()
    for result in run.results:
        try:
            defer(MIGRATE_CITY_TASK, result_id=result.id)
        except Exception as error:  # the queue refused: this city's result says so
            log.exception("could not queue the migration of %s", result.tenant_slug)
            result.status, result.error = RESULT_FAILED, f"not queued: {error}"
            result.finished_at = sa.func.now()
    db.session.commit()
    return run


@platform_task(MIGRATE_CITY_TASK)
def migrate_city(result_id: int) -> str | None:
    """Migrate one city of a run to head and record how it went (never raises: a failing city
    is a result, and the run's other cities go on)."""
    row = db.session.get(FleetMigrationResult, result_id, with_for_update=True)
    if row is None or row.status != RESULT_QUEUED:  # done already (a job queued twice)
        return None
    row.status, row.started_at = RESULT_RUNNING, sa.func.now()
    db.session.commit()
    try:
        cities = directory()
        cities.mark_stale()
        tenant = cities.get(row.tenant_slug)
        if tenant is None:
            raise LookupError(f"no city with the slug {row.tenant_slug!r}")
        (result,) = migrate_tenants(
            [tenant], lock_timeout=current_app.config["TENANT_MIGRATION_LOCK_TIMEOUT"])
        row.status, row.before, row.after = result.status, result.before, result.after
        row.error, row.seconds = result.error, round(result.seconds, 3)
    except Exception as error:  # no database, or the city vanished: this city's result
        log.exception("the migration of %s failed", row.tenant_slug)
        db.session.rollback()
        row.status, row.error = RESULT_FAILED, str(error)[:2000]
    row.finished_at = sa.func.now()
    db.session.commit()
    return row.status


class MigrationForm(FlaskForm):
    cities = SelectMultipleField(_l("Cities behind head"), choices=[], validate_choice=False)


def _counts(run: FleetMigrationRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in run.results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def _index(form, status=200):
    runs = db.session.scalars(sa.select(FleetMigrationRun)
                              .order_by(FleetMigrationRun.id.desc()).limit(20)).all()
    return render_template("platform/console/fleet_migrations.html", form=form,
                           behind=cities_behind(), head=tenant_head(), runs=runs,
                           counts=_counts), status


@bp.get("/console/fleet-migrations")
@platform_staff_required()
def fleet_migrations():
    return _index(MigrationForm())


@bp.post("/console/fleet-migrations")
@platform_staff_required(PLATFORM_ADMIN)
def fleet_migration_start():
    form = MigrationForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    behind = {tenant.slug for tenant, _version in cities_behind()}
    chosen = behind if request.form.get("scope") == "all" else set(form.cities.data)
    if not chosen:
        form.cities.errors = [_("Choose at least one city to migrate.")] if behind else [
            _("Every city is at head already: there is nothing to migrate.")]
        return _index(form, INVALID_FORM)
    unknown = sorted(chosen - behind)
    if unknown:
        form.cities.errors = [_("Not behind head (any more): %(cities)s.",
                                cities=", ".join(unknown))]
        return _index(form, INVALID_FORM)
    run = start_run(sorted(chosen), audit.actor_of(current_platform_staff()))
    flash(ngettext("The migration of %(num)d city has started.",
                   "The migration of %(num)d cities has started.", len(chosen)), "success")
    return redirect(url_for("platform.fleet_migration_detail", run_id=run.id))


def _running(run: FleetMigrationRun) -> bool:
    return any(result.status in (RESULT_QUEUED, RESULT_RUNNING) for result in run.results)


@bp.get("/console/fleet-migrations/<int:run_id>")
@platform_staff_required()
def fleet_migration_detail(run_id):
    run = db.get_or_404(FleetMigrationRun, run_id)
    running = _running(run)
    return render_template("platform/console/fleet_migration.html", run=run, running=running,
                           counts=_counts(run), refresh=REFRESH_SECONDS,
                           failed=[r for r in run.results if r.status == RESULT_FAILED])


@bp.post("/console/fleet-migrations/<int:run_id>/retry")
@platform_staff_required(PLATFORM_ADMIN)
def fleet_migration_retry(run_id):
    run = db.get_or_404(FleetMigrationRun, run_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    failed = sorted(r.tenant_slug for r in run.results if r.status == RESULT_FAILED)
    if _running(run) or not failed:
        flash(_("Only a finished run with failed cities can be retried."), "error")
        return redirect(url_for("platform.fleet_migration_detail", run_id=run.id))
    retry = start_run(failed, audit.actor_of(current_platform_staff()), retry_of=run.id)
    flash(ngettext("Retrying the failed city.", "Retrying %(num)d failed cities.", len(failed)),
          "success")
    return redirect(url_for("platform.fleet_migration_detail", run_id=retry.id))
