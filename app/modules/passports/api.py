"""Passport applications in the REST API (docs/api.md): the citizen's own applications with
their timeline (`passports:read`), and the staff's queue and its moves (`staff:read`,
`staff:work`), through the same queries and `workflow.transition` as the console — the same
checks, audit entries, notifications and webhooks."""
import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _

from app.modules.passports.admin import ACTIONS, AGES, OPEN, queue_query
from app.modules.passports.models import DRAFT, STATUSES, PassportApplication
from app.modules.passports.views import office_name
from app.modules.passports.workflow import (
    STAFF,
    STATUS_LABELS,
    Refused,
    claimed_by_another,
    load_for_update,
    transition,
)
from app.oauth.server import (
    acting_staff,
    api_actor,
    citizens_own,
    current_token,
    scope_required,
)
from app.rest import ApiBlueprint, Problem, page_of
from app.rest.fields import text
from tenants.db import db

bp = ApiBlueprint("api_passports", __name__, url_prefix="/api/v1",
                  description="Passport applications: the citizen's own, and the staff's queue")


class PassportEventSchema(ma.Schema):
    from_status = ma.fields.String(required=True)
    to_status = ma.fields.String(required=True)
    by_staff = ma.fields.Boolean(required=True)
    message = ma.fields.String(required=True, metadata={
        "description": "What the citizen reads (a request for information, a reason)"})
    occurred_at = ma.fields.DateTime(required=True)


class PassportApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    status_label = ma.fields.Function(lambda a: str(STATUS_LABELS[a.status]), required=True)
    reason = ma.fields.String(required=True)
    collection_method = ma.fields.String(allow_none=True)
    office = ma.fields.Function(lambda a: office_name(a.office), required=True, metadata={
        "type": "string", "description": "In the client's language (Accept-Language) where "
                                         "the city names the office in it, else the other"})
    fee_fen = ma.fields.Integer(required=True)
    information_request = ma.fields.String(required=True)
    rejection_reason = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    sla_due = ma.fields.Date(allow_none=True, metadata={
        "description": "The last working day the city promised"})
    events = ma.fields.List(ma.fields.Nested(PassportEventSchema), required=True, metadata={
        "description": "The status history, oldest first"})


class StaffPassportApplicationSchema(PassportApplicationSchema):
    full_name = ma.fields.String(required=True)
    assigned_user_id = ma.fields.Integer(allow_none=True)
    staff_notes = ma.fields.String(required=True)


class QueueArgs(ma.Schema):
    status = ma.fields.String(load_default=OPEN, validate=ma.validate.OneOf(
        [OPEN, "all", *(status for status in STATUSES if status != DRAFT)]))
    age = ma.fields.Integer(load_default=0, validate=ma.validate.OneOf(AGES), metadata={
        "description": "Submitted at least this many days ago"})


class MoveSchema(ma.Schema):
    message = text(2000, load_default="", metadata={
        "description": "What the applicant reads; required to ask for information or reject"})
    notes = text(2000, load_default="", metadata={"description": "The staff's own notes"})


@bp.route("/me/passport-applications")
@bp.etag
@bp.response(200, PassportApplicationSchema(many=True))
@bp.paginate()
@scope_required("passports:read")
def my_applications(pagination_parameters):
    """The citizen's passport applications, newest first."""
    return page_of(sa.select(PassportApplication).where(
        PassportApplication.user_id == current_token().user_id).order_by(
        PassportApplication.id.desc()), pagination_parameters)


@bp.route("/me/passport-applications/<int:application_id>")
@bp.etag
@bp.response(200, PassportApplicationSchema)
@scope_required("passports:read")
def my_application(application_id):
    """One of the citizen's applications with its status history."""
    return citizens_own(PassportApplication, PassportApplication.id == application_id,
                        not_found=_("You have no passport application with this number."))


@bp.route("/staff/passport-applications")
@bp.etag
@bp.arguments(QueueArgs, location="query")
@bp.response(200, StaffPassportApplicationSchema(many=True))
@bp.paginate()
@scope_required("staff:read", module="passports")
def queue(args, pagination_parameters):
    """The queue of submitted applications as the console shows it: overdue first, then by
    deadline. `status` is `open` (not finished, the default), `all` or one status."""
    return page_of(queue_query(args["status"], args["age"]), pagination_parameters)


def _case(application_id: int, lock: bool = False) -> PassportApplication:
    application = load_for_update(application_id) if lock else db.session.get(
        PassportApplication, application_id)
    if application is None or application.status == DRAFT:
        raise Problem(404, _("No submitted passport application has this number."))
    return application


@bp.route("/staff/passport-applications/<int:application_id>")
@bp.etag
@bp.response(200, StaffPassportApplicationSchema)
@scope_required("staff:read", module="passports")
def case(application_id):
    """A submitted application with its status history."""
    return _case(application_id)


@bp.route("/staff/passport-applications/<int:application_id>/<any("
          + ", ".join(f"'{action}'" for action in ACTIONS) + "):action>", methods=["POST"])
@bp.arguments(MoveSchema)
@bp.response(200, StaffPassportApplicationSchema)
@bp.alt_response(403, description="Not allowed, or claimed by someone else")
@bp.alt_response(409, description="Not possible in the application's status")
@scope_required("staff:work", module="passports")
def move(args, application_id, action):
    """A move of the console: `claim`, `request-information` and `reject` (with a
    `message`), `approve`, `ready`, `collected`. The applicant is told as from the console."""
    staff = acting_staff()
    if staff is None:
        raise Problem(403, _("A case is worked by a person: use a staff member's token, not "
                             "a back office's."), kind="insufficient_permission")
    target, _label, needs_message = ACTIONS[action]
    application = _case(application_id, lock=True)
    if claimed_by_another(application, staff):
        raise Problem(403, _("%(name)s has claimed application %(reference)s: only they or "
                             "an administrator can act on it.", name=application.assignee.name,
                             reference=application.reference), kind="claimed")
    message = args["message"].strip()
    if needs_message and not message:
        raise Problem(422, _("Write the message to the applicant."),
                      errors={"json": {"message": [_("Write the message to the applicant.")]}})
    try:
        transition(application, target, current_token().get_user(), by=STAFF,
                   message=message, notes=args["notes"].strip(), audit_actor=api_actor()[1])
    except Refused as refused:
        raise Problem(409, str(refused.message), kind="transition_refused") from None
    db.session.commit()
    return application
