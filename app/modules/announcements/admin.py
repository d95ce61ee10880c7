"""Writing announcements: draft, schedule, publish, unpublish and pin, in both languages.
Staff who work the module (app.admin.permissions) may do it; every change is audited in the
same transaction."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.audit import actor_of, record
from app.city_time import city_zone
from app.modules.announcements.forms import AnnouncementForm
from app.modules.announcements.models import Announcement
from app.staff.permissions import staff_required
from app.web.forms import form_status
from tenants.db import db

bp = Blueprint("announcements", __name__, template_folder="templates")
WORK = staff_required("work_module", module="announcements")
FIELDS = ("title", "title_zh", "body", "body_zh", "published_at", "pinned")


def _snapshot(announcement: Announcement) -> dict:
    return {name: (value.isoformat() if isinstance(value, datetime) else value)
            for name in FIELDS for value in [getattr(announcement, name)]}


def _city_time(local: datetime | None) -> datetime | None:
    """A time typed in the city's time zone, as an aware datetime."""
    return local.replace(tzinfo=city_zone()) if local else None


def _save(announcement: Announcement, action: str, before: dict | None):
    db.session.flush()  # a new announcement needs its id before the others are unpinned
    if announcement.pinned:
        db.session.execute(sa.update(Announcement).where(
            Announcement.pinned, Announcement.id != announcement.id).values(pinned=False))
    record(actor_of(current_user), f"announcements.{action}", str(announcement.id), before,
           _snapshot(announcement))
    db.session.commit()


@bp.get("/")
@WORK
def index():
    rows = db.session.scalars(sa.select(Announcement).order_by(
        sa.func.coalesce(Announcement.published_at, Announcement.created_at).desc(),
        Announcement.id.desc()).limit(200)).all()
    return render_template("announcements/admin/index.html", announcements=rows,
                           now=datetime.now(UTC))


@bp.route("/new", methods=["GET", "POST"], endpoint="create")
@bp.route("/<int:announcement_id>", methods=["GET", "POST"])
@WORK
def edit(announcement_id=None):
    announcement = db.get_or_404(Announcement, announcement_id) if announcement_id else None
    form = AnnouncementForm(obj=announcement)
    if announcement and not form.is_submitted() and announcement.published_at:
        form.publish_at.data = announcement.published_at.astimezone(city_zone()).replace(
            tzinfo=None)
    if not form.validate_on_submit():
        return render_template("announcements/admin/edit.html", form=form,
                               announcement=announcement), form_status(form)
    before = _snapshot(announcement) if announcement else None
    if announcement is None:
        announcement = Announcement()
        db.session.add(announcement)
    for name in ("title", "title_zh", "body", "body_zh"):
        setattr(announcement, name, getattr(form, name).data)
    announcement.published_at = _city_time(form.publish_at.data)
    announcement.pinned = form.pinned.data
    _save(announcement, "update" if before else "create", before)
    flash(_("The announcement is saved."), "success")
    return redirect(url_for(".index"))


def _set_published(announcement_id: int, published: bool):
    announcement = db.get_or_404(Announcement, announcement_id)
    before = _snapshot(announcement)
    if published:
        announcement.published_at = datetime.now(UTC)
    else:  # back to draft; a draft can't be the banner
        announcement.published_at, announcement.pinned = None, False
    _save(announcement, "publish" if published else "unpublish", before)
    flash(_("The announcement is published.") if published else
          _("The announcement is back to draft: citizens no longer see it."), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:announcement_id>/publish")
@WORK
def publish(announcement_id):
    return _set_published(announcement_id, True)


@bp.post("/<int:announcement_id>/unpublish")
@WORK
def unpublish(announcement_id):
    return _set_published(announcement_id, False)
