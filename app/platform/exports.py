"""Exports of cities from the console: a platform administrator asks for one, a job
(`tenants.export_city`) writes the archive with tenants/export.py into instance/exports/, and
the export's page (refreshing itself while it runs) then offers the download, to platform
administrators only. Asking, finishing and downloading are recorded in the platform audit log.

Archives hold personal data: a daily job (`tenants.expire_exports`) deletes those older than
EXPORT_RETENTION_DAYS, marks their exports "expired" (a download then answers 410) and records
each deletion in the platform audit log.
"""
import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from app.platform import audit
from app.platform.auth import PLATFORM_ADMIN, current_platform_staff, platform_staff_required
from app.platform.blueprint import bp
from app.web.forms import INVALID_FORM
from tenants.context import directory
from tenants.db import db
from tenants.export import ARCHIVE_SUFFIX, export_city, exports_dir
from tenants.jobs import defer, platform_task
from tenants.models import (
    EXPORT_DONE,
    EXPORT_EXPIRED,
    EXPORT_FAILED,
    EXPORT_QUEUED,
    EXPORT_RUNNING,
    CityExport,
)

log = logging.getLogger(__name__)

EXPORT_TASK = "tenants.export_city"
EXPIRE_TASK = "tenants.expire_exports"
EXPIRE_ACTOR = f"job:{EXPIRE_TASK}"  # who the audit log says deleted an archive
# While an export or a migration runs, its page reloads itself after this many seconds.
REFRESH_SECONDS = 5


class ExportForm(FlaskForm):
    city = SelectField(_l("City"), validators=[InputRequired(_l("Choose the city to export."))],
                       description=_l("Its data, its platform rows and its uploaded files, "
                                      "in one signed archive."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.city.choices = [("", _("Choose a city"))] + [
            (tenant.slug, f"{tenant.slug} · {tenant.display_name(get_locale())}")
            for tenant in directory().all()]


@platform_task(EXPORT_TASK)
def run_export(export_id: int) -> str | None:
    """Write the archive of one CityExport; its row says how it went."""
    row = db.session.get(CityExport, export_id, with_for_update=True)
    if row is None or row.status != EXPORT_QUEUED:  # run already (a job queued twice)
        return None
    row.status = EXPORT_RUNNING
    db.session.commit()
    try:
        exported = export_city(row.tenant_slug, by=row.requested_by)
    except Exception as error:  # recorded on the export's page; the job itself is done
        log.exception("export %s of %s failed", export_id, row.tenant_slug)
        db.session.rollback()
        row.status, row.error = EXPORT_FAILED, str(error)[:2000]
    else:
        row.status, row.file_name = EXPORT_DONE, exported.path.name
        row.size = exported.path.stat().st_size
        row.sha256, row.schema_version = exported.sha256, exported.manifest["schema_version"]
        log.info("exported %s to %s", row.tenant_slug, exported.path)
    row.finished_at = sa.func.now()
    db.session.commit()
    return row.file_name


@platform_task(EXPIRE_TASK, cron="17 3 * * *")
def expire_exports() -> int:
    """Daily: delete the archives older than EXPORT_RETENTION_DAYS, each export's row marked
    "expired" and the deletion audited in one transaction; archives in the exports folder that
    no export row names (`flask tenants export` writes there too) go by their file's age.
    Returns how many archives were deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=current_app.config["EXPORT_RETENTION_DAYS"])
    folder, deleted = exports_dir(), 0
    due = sa.select(CityExport.id).where(CityExport.status == EXPORT_DONE,
                                         CityExport.finished_at < cutoff)
    for export_id in db.session.scalars(due).all():
        row = db.session.get(CityExport, export_id, with_for_update=True)
        if row.status != EXPORT_DONE:  # another run expired it meanwhile
            db.session.rollback()
            continue
        (folder / row.file_name).unlink(missing_ok=True)
        row.status = EXPORT_EXPIRED
        audit.record(EXPIRE_ACTOR, "tenant.export_expired", row.tenant_slug, export_id=row.id,
                     file=row.file_name, sha256=row.sha256)
        db.session.commit()
        deleted += 1
    for path in sorted(folder.glob(f"*{ARCHIVE_SUFFIX}")) if folder.is_dir() else ():
        if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
            path.unlink(missing_ok=True)
            audit.record(EXPIRE_ACTOR, "tenant.export_expired", None, file=path.name)
            db.session.commit()
            deleted += 1
    if deleted:
        log.info("deleted %s export archive(s) older than %s", deleted, cutoff)
    return deleted


@bp.get("/console/exports")
@platform_staff_required()
def exports():
    form = ExportForm(city=request.args.get("city", ""))
    rows = db.session.scalars(sa.select(CityExport).order_by(CityExport.id.desc())
                              .limit(100)).all()
    return render_template("platform/console/exports.html", form=form, exports=rows)


@bp.post("/console/exports")
@platform_staff_required(PLATFORM_ADMIN)
def export_start():
    form = ExportForm()
    if not form.validate_on_submit():
        rows = db.session.scalars(sa.select(CityExport).order_by(CityExport.id.desc())
                                  .limit(100)).all()
        return render_template("platform/console/exports.html", form=form,
                               exports=rows), INVALID_FORM
    actor = audit.actor_of(current_platform_staff())
    row = CityExport(tenant_slug=form.city.data, requested_by=actor)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "tenant.export_requested", row.tenant_slug, export_id=row.id)
    db.session.commit()
    try:
        defer(EXPORT_TASK, export_id=row.id)
    except Exception as error:  # the queue is down: say so, leave no export waiting forever
        log.exception("could not queue export %s", row.id)
        row.status, row.error, row.finished_at = EXPORT_FAILED, str(error), sa.func.now()
        db.session.commit()
    flash(_("The export of %(city)s has started.", city=row.tenant_slug), "success")
    return redirect(url_for("platform.export_detail", export_id=row.id))


@bp.get("/console/exports/<int:export_id>")
@platform_staff_required()
def export_detail(export_id):
    row = db.get_or_404(CityExport, export_id)
    return render_template(
        "platform/console/export.html", export=row,
        running=row.status in (EXPORT_QUEUED, EXPORT_RUNNING), refresh=REFRESH_SECONDS,
        may_download=row.status == EXPORT_DONE and current_platform_staff().role == PLATFORM_ADMIN)


@bp.get("/console/exports/<int:export_id>/download")
@platform_staff_required(PLATFORM_ADMIN)
def export_download(export_id):
    row = db.get_or_404(CityExport, export_id)
    if row.status == EXPORT_EXPIRED:
        abort(410)
    path = exports_dir() / (row.file_name or "")
    if row.status != EXPORT_DONE or not path.is_file():
        abort(404)
    audit.record(audit.actor_of(current_platform_staff()), "tenant.export_download",
                 row.tenant_slug, export_id=row.id, file=row.file_name, sha256=row.sha256)
    db.session.commit()
    return send_file(path, mimetype="application/gzip", as_attachment=True,
                     download_name=row.file_name, max_age=0)
