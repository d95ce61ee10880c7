"""Announcements: the city's news and notices, in both languages, with an Atom feed; a pinned
one is the site's banner. Citizens read them at /announcements/; staff write them at
/admin/announcements/."""
from flask_babel import lazy_gettext as _l

from app.modules import Module
from app.modules.announcements import demo
from app.modules.announcements.admin import bp as admin_bp
from app.modules.announcements.api import bp as api_bp
from app.modules.announcements.banner import pinned_banner
from app.modules.announcements.settings import AnnouncementSettings
from app.modules.announcements.views import bp, search

module = Module(
    key="announcements",
    name=_l("Announcements"),
    description=_l("News and notices from the city."),
    icon="announcement",
    settings=AnnouncementSettings,
    citizen=bp,
    citizen_prefix="/announcements",
    admin=admin_bp,
    api_v1=api_bp,
    banner=pinned_banner,
    demo=demo.add_demo_data,
    search=search,
    order=90,
)
