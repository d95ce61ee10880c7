"""The dashboard's figures of service requests, each one aggregate query served by an index of
service_requests (bench/dashboard.py times them with a year of data)."""
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.city_time import city_midnight, day_in
from app.figures import Figure
from app.modules.service_requests.models import (
    AWAITING_REVIEW,
    OPEN,
    ServiceCategory,
    ServiceRequest,
)
from app.modules.service_requests.workflow import STATUS_LABELS
from tenants.db import db

WAITING = (AWAITING_REVIEW, *OPEN)  # the city has still to act on these
CLOSE_TIME_DAYS = 30


def _per_day(column):
    def per_day(first_day: date, timezone: str) -> dict:
        day = day_in(column, timezone)
        return dict(db.session.execute(
            sa.select(day, sa.func.count()).where(column >= city_midnight(first_day, timezone))
            .group_by(day)).all())
    return per_day


def open_now() -> int:
    """Requests the city has to act on (ix_service_requests_queue)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        ServiceRequest.status.in_(WAITING)))


def open_by_status() -> list[tuple[str, int]]:
    counts = dict(db.session.execute(
        sa.select(ServiceRequest.status, sa.func.count())
        .where(ServiceRequest.status.in_(WAITING)).group_by(ServiceRequest.status)).all())
    return [(STATUS_LABELS[status], counts.get(status, 0)) for status in WAITING]


def open_in_the_city() -> int:
    """Open requests, the ones counted by category (ix_service_requests_open_category)."""
    return db.session.scalar(sa.select(sa.func.count()).where(ServiceRequest.status.in_(OPEN)))


def open_by_category() -> list[tuple[str, int]]:
    counted = sa.select(ServiceRequest.category_id, sa.func.count().label("open")).where(
        ServiceRequest.status.in_(OPEN)).group_by(ServiceRequest.category_id).subquery()
    rows = db.session.execute(sa.select(ServiceCategory, counted.c.open).join(
        counted, counted.c.category_id == ServiceCategory.id).order_by(
        counted.c.open.desc(), ServiceCategory.id)).all()
    locale = get_locale()
    return [(category.name_for(locale), count) for category, count in rows]


def overdue_now() -> int:
    """Open requests past their category's time limit (ix_service_requests_queue)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        ServiceRequest.status.in_(OPEN), ServiceRequest.due_at < datetime.now(UTC)))


def median_days_to_close() -> float:
    """The median time from report to closing of the requests closed in the last 30 days, in
    days with one decimal (ix_service_requests_closed_at); 0 when none was closed."""
    since = datetime.now(UTC) - timedelta(days=CLOSE_TIME_DAYS)
    seconds = sa.extract("epoch", ServiceRequest.closed_at - ServiceRequest.created_at)
    median = db.session.scalar(
        sa.select(sa.func.percentile_cont(0.5).within_group(seconds))
        .where(ServiceRequest.closed_at >= since))
    return round(median / 86400, 1) if median is not None else 0


FIGURES = (
    Figure("service_requests.received", _l("Service requests received"),
           per_day=_per_day(ServiceRequest.created_at)),
    Figure("service_requests.closed", _l("Service requests closed"),
           per_day=_per_day(ServiceRequest.closed_at)),
    Figure("service_requests.open", _l("Service requests to act on, by status"),
           current=open_now, parts=open_by_status),
    Figure("service_requests.open_by_category", _l("Open service requests by category"),
           current=open_in_the_city, parts=open_by_category),
    Figure("service_requests.overdue", _l("Service requests overdue"), current=overdue_now),
    Figure("service_requests.days_to_close",
           _l("Median days to close (requests closed in the last 30 days)"),
           current=median_days_to_close),
)
