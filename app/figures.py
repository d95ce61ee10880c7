"""Figures: the numbers a city's dashboard shows (app/admin/dashboard.py). Modules declare theirs
(Module.figures); app.payments.records makes those of records citizens pay."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Figure:
    """A number a module shows on the city's dashboard, from one aggregate query in the bound
    city (an index must serve it: bench/dashboard.py times them with a year of data).

    Give exactly one of:
    - `per_day(first_day: date, timezone: str) -> {date: value}`: the figure of each day from
      `first_day` to today in the city's time zone (days without a row may be missing); the
      dashboard adds the days up for today, 7 days and 30 days and draws them as a chart.
      For unit "percent", each value is a (numerator, denominator) pair, summed separately.
    - `current() -> value`: a figure of the moment (applications waiting, overdue); with
      `parts() -> [(label, value)]`, also what it is made of (open requests by status), from
      one more query.
    """
    key: str
    label: str  # lazy_gettext
    unit: str = "count"  # count | fen | percent
    per_day: Callable[[date, str], dict] | None = None
    current: Callable[[], int] | None = None
    parts: Callable[[], list[tuple[str, object]]] | None = None
