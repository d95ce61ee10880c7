"""Announcements in the REST API (docs/api.md): the published ones, newest first, and one;
in the client's language (the other one where it has none). No token needed."""
import marshmallow as ma
from flask_babel import get_locale
from flask_babel import gettext as _

from app.modules.announcements.models import Announcement
from app.oauth.server import throttle_address
from app.rest import ApiBlueprint, Problem, page_of
from tenants.db import db

bp = ApiBlueprint("api_announcements", __name__, url_prefix="/api/v1/announcements",
                  description="The city's news and notices (no token needed)")


class AnnouncementSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.Function(lambda row: row.title_for(get_locale()), required=True,
                               metadata={"type": "string"})
    body = ma.fields.Function(lambda row: row.body_for(get_locale()), required=True,
                              metadata={"type": "string", "description": "Plain text"})
    published_at = ma.fields.DateTime(required=True)
    pinned = ma.fields.Boolean(required=True, metadata={
        "description": "Shown as the banner of every page of the city's site"})


@bp.route("")
@bp.etag
@bp.response(200, AnnouncementSchema(many=True))
@bp.paginate()
def announcements(pagination_parameters):
    """The published announcements, newest first."""
    throttle_address()
    return page_of(Announcement.published(), pagination_parameters)


@bp.route("/<int:announcement_id>")
@bp.etag
@bp.response(200, AnnouncementSchema)
def announcement(announcement_id):
    """One published announcement."""
    throttle_address()
    found = db.session.scalar(Announcement.published().where(
        Announcement.id == announcement_id))
    if found is None:
        raise Problem(404, _("There is no published announcement with this number."))
    return found
