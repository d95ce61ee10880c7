"""The site's banner: the pinned announcement, where the city shows it."""
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.modules import settings_of
from app.modules.announcements.models import Announcement
from app.web.banner import SiteBanner
from tenants.db import db


def pinned_banner() -> SiteBanner | None:
    if not settings_of("announcements")["show_banner"]:
        return None
    pinned = db.session.scalar(Announcement.published().where(Announcement.pinned).limit(1))
    if pinned is None:
        return None
    return SiteBanner(text=pinned.title_for(get_locale()),
                      link=url_for("announcements.detail", announcement_id=pinned.id),
                      link_text=_("Read more"))
