"""The live analytics dashboard (/admin/dashboard): the city's own figures (new citizen
accounts) and those each enabled module declares (`Module.figures`), for today, 7 and 30 days,
with a bar chart of the last 30 days drawn on the server as SVG.

Every figure is one aggregate query (grouped by day in the city's time zone), so a page costs a
bounded number of queries whatever the amount of data; bench/dashboard.py times them with a
year of data. The page refreshes itself: app/static/js/admin.js fetches the figures section
(/admin/dashboard/figures) every few seconds and swaps it in; without a script the page shows
the same figures and a link to refresh.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.admin.blueprint import bp
from app.city_time import city_midnight, city_today, day_in
from app.figures import Figure
from app.modules import enabled_modules
from app.money import format_fen
from app.staff.models import StaffMember
from app.staff.permissions import VIEW, can, current_staff, staff_required
from tenants.context import current_tenant
from tenants.db import db

PERIODS = (1, 7, 30)  # days, today included
CHART_DAYS = 30
REFRESH_SECONDS = 10


# -- figures of the city itself --------------------------------------------------------------

def new_citizen_accounts(first_day: date, timezone: str) -> dict[date, int]:
    """Accounts created per day that are not on the staff (users.created_at is indexed)."""
    day = day_in(User.created_at, timezone)
    staff = sa.select(StaffMember.id).where(StaffMember.user_id == User.id).exists()
    rows = db.session.execute(
        sa.select(day, sa.func.count())
        .where(User.created_at >= city_midnight(first_day, timezone), ~staff)
        .group_by(day))
    return dict(rows.all())


CITY_FIGURES = (
    Figure("new_citizen_accounts", _l("New citizen accounts"), per_day=new_citizen_accounts),
)


# -- computing and formatting ----------------------------------------------------------------

@dataclass(frozen=True)
class FigureValues:
    figure: Figure
    totals: dict[int, object]  # period in days -> value; percent: (numerator, denominator)
    days: list[tuple[date, object]]  # the chart, oldest first (empty for figures of the moment)
    current: object = None  # a figure of the moment
    parts: list[tuple[str, object]] = ()  # what a figure of the moment is made of

    def shown(self, value) -> str:
        return format_value(self.figure.unit, value)

    def bar(self, value) -> float:
        """The number a bar stands for: the value, a percentage for percent figures."""
        if self.figure.unit == "percent":
            numerator, denominator = value
            return 100 * numerator / denominator if denominator else 0.0
        return value

    @property
    def highest(self) -> float:
        return max((self.bar(value) for _, value in self.days), default=0) or 1


def _zero(unit: str):
    return (0, 0) if unit == "percent" else 0


def _add(unit: str, first, second):
    if unit == "percent":
        return first[0] + second[0], first[1] + second[1]
    return first + second


def values_of(figure: Figure, today: date, timezone: str) -> FigureValues:
    """One figure's values: one query (the figure's own)."""
    if figure.per_day is None:
        return FigureValues(figure, {}, [], figure.current(),
                            figure.parts() if figure.parts else ())
    first_day = today - timedelta(days=CHART_DAYS - 1)
    by_day = figure.per_day(first_day, timezone)
    days = [(day, by_day.get(day, _zero(figure.unit)))
            for day in (first_day + timedelta(days=n) for n in range(CHART_DAYS))]
    totals = {}
    for period in PERIODS:
        total = _zero(figure.unit)
        for _day, value in days[-period:]:
            total = _add(figure.unit, total, value)
        totals[period] = total
    return FigureValues(figure, totals, days)


def format_value(unit: str, value) -> str:
    """A figure as the page's language writes it: a count, an amount of fen as yuan, or a
    percentage of (numerator, denominator) ("–" when there is nothing to divide by)."""
    if unit == "fen":
        return format_fen(int(value))
    if unit == "percent":
        numerator, denominator = value
        if not denominator:
            return "–"
        return format_percent(numerator / denominator, "#,##0.#%")
    return format_decimal(value)


def period_label(days: int) -> str:
    return _("Today") if days == 1 else _("Last %(days)d days", days=days)


@dataclass(frozen=True)
class FigureGroup:
    title: str
    figures: list[FigureValues]


def figure_groups() -> list[FigureGroup]:
    """The city's figures, then each enabled module's that the signed-in staff may view."""
    tenant = current_tenant()
    today = city_today()
    staff = current_staff()
    sources = [(_("Citizens"), CITY_FIGURES)]
    sources += [(str(module.name), module.figures) for module in enabled_modules()
                if module.figures and can(staff, VIEW, module.key)]
    return [FigureGroup(title, [values_of(figure, today, tenant.timezone) for figure in figures])
            for title, figures in sources]


def _render(template: str):
    return render_template(template, groups=figure_groups(), periods=PERIODS,
                           period_label=period_label, refresh_seconds=REFRESH_SECONDS,
                           updated_at=datetime.now(UTC))


@bp.get("/dashboard")
@staff_required(VIEW)
def dashboard():
    return _render("admin/dashboard/index.html")


@bp.get("/dashboard/figures")
@staff_required(VIEW)
def dashboard_figures():
    """The figures section alone, for the page's script to swap in."""
    return _render("admin/dashboard/_figures.html")
