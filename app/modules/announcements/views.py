"""The citizen pages of announcements, its Atom feed, and the banner of the pinned one."""
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.citizen.views import BANNER_PROVIDERS, SiteBanner
from app.modules.announcements.models import Announcement
from tenants.db import db

bp = Blueprint("announcements", __name__, template_folder="templates")
FEED_SIZE = 20


@bp.get("/")
def index():
    from app.modules import settings_of

    per_page = settings_of("announcements")["per_page"]
    page = request.args.get("page", 1, type=int)
    if page < 1:
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


def pinned_banner() -> SiteBanner | None:
    from flask import g

    from app.modules import is_enabled, settings_of

    if g.get("tenant") is None or not is_enabled("announcements") \
            or not settings_of("announcements")["show_banner"]:
        return None
    pinned = db.session.scalar(Announcement.published().where(Announcement.pinned).limit(1))
    if pinned is None:
        return None
    return SiteBanner(text=pinned.title_for(get_locale()),
                      link=url_for("announcements.detail", announcement_id=pinned.id),
                      link_text=_("Read more"))


BANNER_PROVIDERS.append(pinned_banner)
