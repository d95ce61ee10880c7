"""The API's own resources (the modules bring theirs, `Module.api_v1`): the signed-in
citizen's profile and notifications, and the city's public catalogue of services."""
import marshmallow as ma
import sqlalchemy as sa
from flask import url_for

from app.modules import enabled_modules
from app.notifications.models import Notification
from app.oauth.server import current_token, scope_required, throttle_address
from app.rest import ApiBlueprint, page_of

profile_bp = ApiBlueprint("api_profile", __name__, url_prefix="/api/v1/me",
                          description="The signed-in citizen's account")
catalogue_bp = ApiBlueprint("api_catalogue", __name__, url_prefix="/api/v1/services",
                            description="The services this city offers (no token needed)")


class ProfileSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True)
    mobile = ma.fields.String(allow_none=True)
    locale = ma.fields.String(allow_none=True)


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    event = ma.fields.String(required=True)
    channel = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    sent_at = ma.fields.DateTime(allow_none=True)


class ServiceSchema(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    url = ma.fields.String(required=True, metadata={"description": "its page on the city's site"})


@profile_bp.route("")
@profile_bp.etag
@profile_bp.response(200, ProfileSchema)
@scope_required("profile:read")
def profile():
    """The citizen's profile."""
    return current_token().get_user()


@profile_bp.route("/notifications")
@profile_bp.etag
@profile_bp.response(200, NotificationSchema(many=True))
@profile_bp.paginate()
@scope_required("notifications:read")
def notifications(pagination_parameters):
    """The messages the city sent the citizen, newest first."""
    return page_of(sa.select(Notification).where(
        Notification.user_id == current_token().user_id).order_by(
        Notification.created_at.desc(), Notification.id.desc()), pagination_parameters)


@catalogue_bp.route("")
@catalogue_bp.etag
@catalogue_bp.response(200, ServiceSchema(many=True))
def services():
    """The services the city has enabled, in the order of its home page."""
    throttle_address()
    return [{"key": module.key, "name": str(module.name), "description": str(module.description),
             "url": url_for(f"{module.citizen.name}.index") if module.citizen else ""}
            for module in enabled_modules()]


BLUEPRINTS = (profile_bp, catalogue_bp)
