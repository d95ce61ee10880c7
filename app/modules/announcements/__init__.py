"""Announcements: the city's news and notices, in both languages, with an Atom feed; a pinned
one is the site's banner. Citizens read them at /announcements/ (writing them comes with the
city admin console)."""
from flask_babel import lazy_gettext as _l

from app.modules import Module
from app.modules.announcements.settings import AnnouncementSettings
from app.modules.announcements.views import bp

module = Module(
    key="announcements",
    name=_l("Announcements"),
    description=_l("News and notices from the city."),
    icon="announcement",
    settings=AnnouncementSettings,
    citizen=bp,
    citizen_prefix="/announcements",
    order=90,
)
