"""The life of a service request. `submit` records a report (from the city's site or an Open311
app) and gives it its tracking number at once — or, for apps' reports the city reviews first,
when staff accept it. Staff then move it (`update`: a status change or a note, with a public
and an internal note, closing with a reason), assign it to a department, merge duplicates into
the report they repeat. Every step is an event (the public history shows status changes and
public notes), staff steps are audited, and the reporter is told of status changes in their
language — all in the caller's transaction."""
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.audit import actor_of, record
from app.i18n import TranslatedError
from app.modules.service_requests.models import (
    AWAITING_REVIEW,
    CLOSE_REASONS,
    CLOSED,
    DUPLICATE,
    FIXED,
    IN_PROGRESS,
    KEY,
    NO_ACTION,
    NOT_FOUND,
    NOT_OURS,
    OPEN,
    OPEN311,
    PUBLIC,
    REJECTED,
    SUBMITTED,
    WEB,
    ServiceApiClient,
    ServiceCategory,
    ServiceDepartment,
    ServiceRequest,
    ServiceRequestEvent,
    ServiceRequestPhoto,
)
from app.notifications import Contact, notify
from app.web.links import external_url
from app.webhooks import publish
from tenants.context import current_tenant
from tenants.db import db

STATUS_LABELS = {
    AWAITING_REVIEW: _l("Awaiting review"),
    SUBMITTED: _l("Received"),
    IN_PROGRESS: _l("In progress"),
    CLOSED: _l("Closed"),
    REJECTED: _l("Rejected"),
}
CLOSE_REASON_LABELS = {
    FIXED: _l("Resolved"),
    NOT_OURS: _l("Not the city's responsibility"),
    NOT_FOUND: _l("The problem could not be found"),
    NO_ACTION: _l("No action needed"),
    DUPLICATE: _l("Duplicate of another report"),
}
# The moves staff make with `update`, by the request's status (DUPLICATE is `merge`'s alone).
STAFF_MOVES = {SUBMITTED: (IN_PROGRESS, CLOSED), IN_PROGRESS: (CLOSED,), CLOSED: (IN_PROGRESS,)}
CLOSING_REASONS = tuple(reason for reason in CLOSE_REASONS if reason != DUPLICATE)
NOTE_LENGTH = 2000


class Refused(TranslatedError):
    """What staff asked can't be done in the request's state (HTTP 409); the message says
    why."""


def _now() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """The token an Open311 app gets for its report (GET tokens/<token> finds it)."""
    return secrets.token_hex(16)


def submit(category: ServiceCategory, *, locale: str, user: User | None = None,
           source: str = WEB, api_client: ServiceApiClient | None = None,
           review: bool = False, **fields) -> ServiceRequest:
    """Record a report (its photos are added by the caller). `fields` are the request's own
    columns (description, address, latitude, answers, contact_email …). With `review`, it
    waits for staff: no tracking number, nobody told yet."""
    request = ServiceRequest(
        category=category, status=AWAITING_REVIEW if review else SUBMITTED, locale=locale,
        user_id=user.id if user else None, source=source, api_client=api_client,
        token=new_token() if source == OPEN311 else None,
        department_id=category.department_id, **fields)
    db.session.add(request)
    db.session.flush()  # the id: the tracking number
    request.events.append(ServiceRequestEvent(from_status=None, to_status=request.status,
                                              actor_user_id=user.id if user else None))
    if not review:
        _make_public(request)
    return request


def _make_public(request: ServiceRequest) -> None:
    """Start the request's time limit (it has its tracking number now), tell the reporter."""
    now = _now()
    request.due_at = now + timedelta(days=request.category.days_to_close)
    request.updated_at = now
    _tell_reporter(request, "service_request_received")


# -- who is told -----------------------------------------------------------------------------

def reporter_of(request: ServiceRequest) -> User | Contact | None:
    """The account that reported it, or the contact address left with it (None: no one)."""
    if request.user_id is not None:
        return db.session.get(User, request.user_id)
    if request.contact_email:
        return Contact(request.contact_email, request.locale, request.contact_name)
    return None


def _tell_reporter(request: ServiceRequest, event: str, **context) -> None:
    reporter = reporter_of(request)
    if reporter is not None:
        link = external_url("service_requests.public_request",
                            tracking_number=request.tracking_number)
        notify(reporter, event, service_request=request, link=link,
               status_label=STATUS_LABELS[request.status],
               reason_label=CLOSE_REASON_LABELS.get(request.close_reason), **context)


# -- staff's moves ---------------------------------------------------------------------------

def load_for_update(request_id: int) -> ServiceRequest | None:
    """The request, locked until the transaction ends (so two moves can't cross)."""
    return db.session.scalar(
        sa.select(ServiceRequest).where(ServiceRequest.id == request_id)
        .with_for_update(of=ServiceRequest).execution_options(populate_existing=True))


def staff_moves(request: ServiceRequest) -> tuple[str, ...]:
    return STAFF_MOVES.get(request.status, ())


def _audit(actor: User, action: str, request: ServiceRequest, before: dict, after: dict):
    """The audit entry of a staff change, and the webhook event when the status changed."""
    record(actor_of(actor), f"{KEY}.{action}", request.reference, before, after)
    if "status" in before and before["status"] != after.get("status"):
        publish("service_request.status_changed", {
            "reference": request.reference, "tracking_number": request.tracking_number,
            "category": request.category.code, "from_status": before["status"],
            "to_status": after["status"], "close_reason": request.close_reason})


def _snapshot(request: ServiceRequest) -> dict:
    return {"status": request.status, "close_reason": request.close_reason,
            "department_id": request.department_id, "merged_into_id": request.merged_into_id}


def _check_notes(public_note: str, internal_note: str) -> None:
    if max(len(public_note), len(internal_note)) > NOTE_LENGTH:
        raise Refused(_("A note may have at most %(count)d characters.", count=NOTE_LENGTH))


def update(request: ServiceRequest, actor: User, *, status: str, public_note: str = "",
           internal_note: str = "", close_reason: str | None = None) -> ServiceRequestEvent:
    """Move the request (loaded FOR UPDATE) to `status`, or, with its own status, add notes.
    Closing needs a reason. Raises Refused, changing nothing."""
    _check_notes(public_note, internal_note)
    if request.status not in PUBLIC:
        raise Refused(_("Report %(reference)s is “%(status)s”: review it first.",
                        reference=request.reference, status=STATUS_LABELS[request.status]))
    changing = status != request.status
    if changing and status not in staff_moves(request):
        raise Refused(_("Report %(reference)s is “%(status)s”: it can't become “%(target)s” "
                        "now.", reference=request.reference,
                        status=STATUS_LABELS[request.status],
                        target=STATUS_LABELS.get(status, status)))
    if changing and status == CLOSED and close_reason not in CLOSING_REASONS:
        raise Refused(_("Choose why the report is closed."))
    if not changing and not (public_note or internal_note):
        raise Refused(_("Change the status or write a note."))
    before, now = _snapshot(request), _now()
    if changing:
        request.status = status
        request.closed_at = now if status == CLOSED else None
        request.close_reason = close_reason if status == CLOSED else None
        if status != CLOSED:
            request.merged_into_id = None  # reopened: no longer a duplicate
    if changing or public_note:
        request.status_notes = public_note
    request.updated_at = now
    event = ServiceRequestEvent(from_status=before["status"], to_status=request.status,
                                public_note=public_note, internal_note=internal_note,
                                actor_user_id=actor.id, occurred_at=now)
    request.events.append(event)
    _audit(actor, "update", request, before,
           {**_snapshot(request), "public_note": public_note, "internal_note": internal_note})
    if changing or public_note:
        _tell_reporter(request, "service_request_status", note=public_note)
    return event


def review(request: ServiceRequest, actor: User, *, accept: bool,
           internal_note: str = "") -> None:
    """Accept an app's report waiting for review (it gets its tracking number, its reporter is
    told) or reject it (it never becomes public)."""
    _check_notes("", internal_note)
    if request.status != AWAITING_REVIEW:
        raise Refused(_("Report %(reference)s has been reviewed already.",
                        reference=request.reference))
    before = _snapshot(request)
    request.status = SUBMITTED if accept else REJECTED
    request.events.append(ServiceRequestEvent(
        from_status=AWAITING_REVIEW, to_status=request.status, internal_note=internal_note,
        actor_user_id=actor.id))
    if accept:
        _make_public(request)
    else:
        request.updated_at = _now()
    _audit(actor, "accept" if accept else "reject", request, before,
           {**_snapshot(request), "tracking_number": request.tracking_number,
            "internal_note": internal_note})


def assign(request: ServiceRequest, actor: User, department: ServiceDepartment | None,
           internal_note: str = "") -> None:
    """Give the request to `department` (None: to no department)."""
    _check_notes("", internal_note)
    before = _snapshot(request)
    request.department_id = department.id if department else None
    request.updated_at = _now()
    request.events.append(ServiceRequestEvent(
        from_status=request.status, to_status=request.status, internal_note=internal_note,
        department_id=request.department_id, actor_user_id=actor.id))
    _audit(actor, "assign", request, before, {**_snapshot(request),
                                              "internal_note": internal_note})


def lock_pair(first_id: int, second_id: int) -> tuple[ServiceRequest | None, ...]:
    """Both requests locked, in the order of their ids (two merges the other way round wait
    for each other instead of deadlocking)."""
    locked = {request_id: load_for_update(request_id)
              for request_id in sorted({first_id, second_id})}
    return locked[first_id], locked[second_id]


def merge(duplicate: ServiceRequest, original: ServiceRequest, actor: User, *,
          public_note: str = "", internal_note: str = "") -> None:
    """Close `duplicate` as a duplicate of `original` (both locked by the caller): its public
    page and its reporter are pointed to the original, which keeps a note of the merge."""
    _check_notes(public_note, internal_note)
    if duplicate.id == original.id:
        raise Refused(_("A report can't be merged into itself."))
    if duplicate.status not in OPEN:
        raise Refused(_("Report %(reference)s is “%(status)s”: only open reports can be "
                        "merged.", reference=duplicate.reference,
                        status=STATUS_LABELS[duplicate.status]))
    if original.status not in PUBLIC or original.merged_into_id is not None:
        raise Refused(_("Report %(reference)s can't take duplicates: it is itself closed as a "
                        "duplicate or not public.", reference=original.reference))
    before, now = _snapshot(duplicate), _now()
    if not public_note:
        with force_locale(current_tenant().locale):
            public_note = _("Merged into report %(number)s, which is about the same problem.",
                            number=original.tracking_number)
    duplicate.status, duplicate.close_reason = CLOSED, DUPLICATE
    duplicate.merged_into_id, duplicate.closed_at = original.id, now
    duplicate.status_notes, duplicate.updated_at = public_note, now
    duplicate.events.append(ServiceRequestEvent(
        from_status=before["status"], to_status=CLOSED, public_note=public_note,
        internal_note=internal_note, actor_user_id=actor.id, occurred_at=now))
    original.events.append(ServiceRequestEvent(
        from_status=original.status, to_status=original.status, actor_user_id=actor.id,
        internal_note=_("Report %(number)s was merged into this one.",
                        number=duplicate.tracking_number), occurred_at=now))
    original.updated_at = now
    _audit(actor, "merge", duplicate, before,
           {**_snapshot(duplicate), "merged_into": original.tracking_number,
            "public_note": public_note, "internal_note": internal_note})
    _tell_reporter(duplicate, "service_request_status", note=public_note,
                   original=original)


def show_photo(photo: ServiceRequestPhoto, actor: User, public: bool) -> None:
    """Put a photo on the public pages or take it off (a face, a number plate …)."""
    request = photo.request
    _audit(actor, "photo_shown" if public else "photo_hidden", request,
           {"photo": photo.id, "public": photo.public}, {"photo": photo.id, "public": public})
    photo.public = public
    request.updated_at = _now()


def is_overdue(request: ServiceRequest, now: datetime) -> bool:
    return request.status in OPEN and request.due_at is not None and request.due_at < now
