"""The life of a passport application: one function, `transition`, moves it along the allowed
transitions, timestamps the step (an event: the citizen's timeline), audits what staff did and
notifies the citizen, all in the caller's transaction. Also the SLA deadline in working days."""
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.audit import actor_of, record
from app.city_time import city_day
from app.i18n import TranslatedError
from app.modules import settings_of
from app.modules.passports.models import (
    APPROVED,
    COLLECTED,
    DELIVERY,
    DRAFT,
    IN_REVIEW,
    NEEDS_INFORMATION,
    OFFICE,
    PHOTO,
    READY_FOR_COLLECTION,
    REJECTED,
    SUBMITTED,
    WITH_THE_CITY,
    PassportApplication,
    PassportEvent,
)
from app.modules.passports.settings import find, holidays, named
from app.notifications import notify
from app.staff.models import ADMIN, StaffMember
from app.web.links import external_url
from app.webhooks import publish
from tenants.db import db

CITIZEN, STAFF = "citizen", "staff"
# (from, to): who may make the move. Anything else is refused.
TRANSITIONS = {
    (DRAFT, SUBMITTED): CITIZEN,
    (SUBMITTED, IN_REVIEW): STAFF,  # a member of staff claims the case
    (IN_REVIEW, NEEDS_INFORMATION): STAFF,
    (NEEDS_INFORMATION, SUBMITTED): CITIZEN,  # the citizen answers and submits again
    (IN_REVIEW, APPROVED): STAFF,
    (IN_REVIEW, REJECTED): STAFF,
    (APPROVED, READY_FOR_COLLECTION): STAFF,
    (READY_FOR_COLLECTION, COLLECTED): STAFF,
}
# The citizen may change the answers and the documents while the application is with them.
EDITABLE = (DRAFT, NEEDS_INFORMATION)

STATUS_LABELS = {
    DRAFT: _l("Draft"),
    SUBMITTED: _l("Submitted"),
    IN_REVIEW: _l("In review"),
    NEEDS_INFORMATION: _l("Needs information from you"),
    APPROVED: _l("Approved"),
    READY_FOR_COLLECTION: _l("Ready for collection"),
    COLLECTED: _l("Collected"),
    REJECTED: _l("Rejected"),
}
REASONS = {
    "expiring": _l("It expires soon"),
    "expired": _l("It has expired"),
    "full": _l("Its pages are full"),
    "damaged": _l("It is damaged"),
    "lost": _l("It was lost or stolen"),
    "details_changed": _l("My personal details changed"),
}
COLLECTION_METHODS = {OFFICE: _l("Pick it up at an office"), DELIVERY: _l("Deliver it to me")}


class Refused(TranslatedError):
    """What the citizen or the staff asked can't be done in the application's state (HTTP
    409); the message says why."""


class TransitionRefused(Refused):
    """The application is not in a state that allows the move."""

    def __init__(self, application: PassportApplication, target: str):
        super().__init__(_("Application %(reference)s is “%(status)s”: it can't become "
                           "“%(target)s” now.", reference=application.reference,
                           status=STATUS_LABELS[application.status],
                           target=STATUS_LABELS[target]))


def allowed(application: PassportApplication, target: str, by: str) -> bool:
    return TRANSITIONS.get((application.status, target)) == by


def transition(application: PassportApplication, target: str, actor: User, *, by: str,
               message: str = "", notes: str = "", audit_actor: str | None = None
               ) -> PassportEvent:
    """Move `application` (loaded FOR UPDATE by the caller) to `target`. `message` is what the
    citizen reads (a request for information, a reason for rejection, the citizen's answer);
    `notes` are the staff's own; `audit_actor` names who acted where it is more than `actor`
    (the staff member through an API client). Raises TransitionRefused, changing nothing."""
    if not allowed(application, target, by):
        raise TransitionRefused(application, target)
    before = {"status": application.status, "assigned_user_id": application.assigned_user_id}
    now = datetime.now(UTC)
    if target == SUBMITTED and application.submitted_at is None:
        application.submitted_at = now
        application.sla_due = sla_deadline(city_day(now))
    elif target == SUBMITTED:  # the citizen answered: the clock stood still while they did
        application.sla_due = deadline_after_pause(
            application.sla_due, city_day(application.status_changed_at), city_day(now))
    application.status, application.status_changed_at = target, now
    if target == IN_REVIEW:
        application.assigned_user_id = actor.id
    elif target == NEEDS_INFORMATION:
        application.information_request = message
    elif target == REJECTED:
        application.rejection_reason = message
    if notes:
        application.staff_notes = "\n\n".join(filter(None, [application.staff_notes, notes]))
    event = PassportEvent(from_status=before["status"], to_status=target, actor_user_id=actor.id,
                          by_staff=by == STAFF, message=message, occurred_at=now)
    application.events.append(event)
    if by == STAFF:
        record(audit_actor or actor_of(actor), f"passports.{target}", application.reference,
               before, {"status": target, "assigned_user_id": application.assigned_user_id,
                        "message": message, "notes": notes})
    notify(application.applicant, "passport_status", application=application,
           status_label=STATUS_LABELS[target], message=message,
           link=external_url("passports.detail", application_id=application.id))
    publish("case.status_changed", {
        "module": "passports", "reference": application.reference,
        "from_status": before["status"], "to_status": target, "by": by,
        "changed_at": now.isoformat(timespec="seconds")})
    return event


def claimed_message(application: PassportApplication) -> str:
    """What staff kept off a case someone else claimed read on its page."""
    return _("%(name)s has claimed application %(reference)s: only they or an administrator "
             "can act on it. Take it over first if you must.",
             name=application.assignee.name, reference=application.reference)


def claimed_by_another(application: PassportApplication, staff: StaffMember) -> bool:
    """Whether `staff` must keep off the case: someone else claimed it and `staff` is not a
    city administrator. (A resubmitted case is open to a new claim.)"""
    return (application.status != SUBMITTED and application.assigned_user_id is not None
            and application.assigned_user_id != staff.user_id and staff.role != ADMIN)


def take_over(application: PassportApplication, actor: User) -> None:
    """`actor` becomes the case's claimant in place of whoever claimed it, audited (in the
    caller's transaction); the citizen sees no change."""
    before = {"assigned_user_id": application.assigned_user_id}
    application.assigned_user_id = actor.id
    record(actor_of(actor), "passports.take_over", application.reference, before,
           {"assigned_user_id": actor.id})


def load_for_update(application_id: int, user_id: int | None = None) -> PassportApplication | None:
    """The application, locked until the transaction ends (so two moves can't cross); only
    if it is `user_id`'s, when given."""
    query = sa.select(PassportApplication).where(PassportApplication.id == application_id)
    if user_id is not None:
        query = query.where(PassportApplication.user_id == user_id)
    return db.session.scalar(query.with_for_update(of=PassportApplication)
                             .execution_options(populate_existing=True))


# -- what a complete application needs -----------------------------------------------------

def missing_parts(application: PassportApplication, settings: dict) -> list[tuple[str, str]]:
    """(step, what is missing) for everything the application still lacks, in step order."""
    missing = []
    if not (application.full_name and application.date_of_birth and application.id_number
            and application.phone):
        missing.append(("personal", _("Your personal details")))
    if not (application.passport_number and application.passport_expiry):
        missing.append(("passport", _("Your current passport")))
    if not application.reason:
        missing.append(("reason", _("The reason for the renewal")))
    if not application.collection_method or (
            application.collection_method == OFFICE
            and find(named(settings["offices"]), application.office) is None) or (
            application.collection_method == DELIVERY and not application.delivery_address):
        missing.append(("collection", _("How you collect the passport")))
    if not application.documents_of(PHOTO):
        missing.append(("documents", _("Your passport photo")))
    for required in named(settings["required_documents"]):
        if not any(required.is_named(document.kind) for document in application.documents):
            missing.append(("documents", required.name_for()))
    return missing


# -- the SLA in working days ---------------------------------------------------------------

def is_working_day(day: date, closed: frozenset[date] = frozenset()) -> bool:
    """Saturdays, Sundays and the `closed` days don't count."""
    return day.weekday() < 5 and day not in closed


def add_working_days(start: date, days: int, closed: frozenset[date] = frozenset()) -> date:
    """The day that is `days` working days after `start` (`start` itself doesn't count)."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, closed):
            counted += 1
    return day


def working_days_between(start: date, end: date, closed: frozenset[date] = frozenset()) -> int:
    """The working days after `start`, up to and including `end` (0 when `end` <= `start`)."""
    return sum(is_working_day(start + timedelta(days=n), closed)
               for n in range(1, (end - start).days + 1))


def _closed_days() -> frozenset[date]:
    return holidays(passport_settings()["public_holidays"])


def passport_settings() -> dict:
    return settings_of("passports")


def sla_deadline(submitted_on: date) -> date:
    return add_working_days(submitted_on, passport_settings()["sla_working_days"], _closed_days())


def deadline_after_pause(due: date, paused_on: date, resumed_on: date) -> date:
    """`due` moved later by the working days the case waited for the citizen: asked on
    `paused_on`, answered on `resumed_on` (an answer the same day moves nothing)."""
    closed = _closed_days()
    return add_working_days(due, working_days_between(paused_on, resumed_on, closed), closed)


def is_overdue(application: PassportApplication, today: date) -> bool:
    return application.sla_due is not None and application.status in WITH_THE_CITY \
        and application.sla_due < today
