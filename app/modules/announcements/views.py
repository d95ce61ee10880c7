"""The citizen pages of announcements and its Atom feed."""
from flask import Blueprint, abort, render_template, request

from app.modules import settings_of
from app.modules.announcements.models import Announcement
from app.web.input_checks import BIGINT_MAX, bigint_arg
from app.web.page_cache import anonymous_page
from tenants.db import db

bp = Blueprint("announcements", __name__, template_folder="templates")
FEED_SIZE = 20


@bp.get("/")
@anonymous_page  # announcements are watched (banner.py); ?page=N is not kept
def index():
    per_page = settings_of("announcements")["per_page"]
    page = request.args.get("page", 1, type=bigint_arg)
    if not 1 <= page <= BIGINT_MAX // per_page:  # beyond: an offset PostgreSQL can't take
        abort(404)
    rows = db.session.scalars(Announcement.published().limit(per_page + 1)
                              .offset((page - 1) * per_page)).all()
    if page > 1 and not rows:
        abort(404)
    return render_template("announcements/index.html", announcements=rows[:per_page],
                           page=page, has_next=len(rows) > per_page)


@bp.get("/<int:announcement_id>")
def detail(announcement_id):
    announcement = db.session.scalar(Announcement.published().where(
        Announcement.id == announcement_id))
    if announcement is None:
        abort(404)
    return render_template("announcements/detail.html", announcement=announcement)


@bp.get("/feed.atom")
def feed():
    rows = db.session.scalars(Announcement.published().limit(FEED_SIZE)).all()
    body = render_template("announcements/feed.xml", announcements=rows,
                           updated=max((a.updated_at for a in rows), default=None))
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8"}
