from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class AnnouncementSettings(Schema):
    per_page = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50),
                              metadata={"label": _l("Announcements per page")})
    show_banner = fields.Boolean(load_default=True,
                                 metadata={"label": _l("Show the pinned one as the site banner")})
