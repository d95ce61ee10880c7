"""The site's banner: the pinned announcement, where the city shows it."""
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.modules import settings_of
from app.modules.announcements.models import Announcement
from app.web.banner import SiteBanner
from tenants.city_cache import cached, reading_request, watch
from tenants.db import db

watch(Announcement.__tablename__)


def _pinned(shared: bool) -> Announcement | None:
    pinned = db.session.scalar(Announcement.published().where(Announcement.pinned).limit(1))
    if shared and pinned is not None:  # out of the session: every GET of this process shares it
        db.session.expunge(pinned)
    return pinned


def pinned_banner() -> SiteBanner | None:
    """The pinned announcement's banner; by a GET from the city cache (tenants/city_cache.py),
    so an announcement scheduled to appear pinned shows within CITY_CACHE_SECONDS."""
    if not settings_of("announcements")["show_banner"]:
        return None
    pinned = (cached("pinned_announcement", lambda: _pinned(True)) if reading_request()
              else _pinned(False))
    if pinned is None:
        return None
    return SiteBanner(text=pinned.title_for(get_locale()),
                      link=url_for("announcements.detail", announcement_id=pinned.id),
                      link_text=_("Read more"))
