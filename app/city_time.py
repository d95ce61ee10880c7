"""The bound city's calendar: its time zone, its today and where its days begin. The days people
see and type (filters, due dates, figures per day) are the city's, not UTC's."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tenants.context import current_tenant


def city_zone() -> ZoneInfo:
    return ZoneInfo(current_tenant().timezone)


def city_day(moment: datetime) -> date:
    """The calendar day of an aware moment in the city."""
    return moment.astimezone(city_zone()).date()


def city_today() -> date:
    return datetime.now(city_zone()).date()


def city_midnight(day: date, timezone: str | None = None) -> datetime:
    """The moment `day` begins in the bound city (in `timezone` when given, as figures are)."""
    return datetime.combine(day, time.min,
                            tzinfo=ZoneInfo(timezone) if timezone else city_zone())


def day_in(column, timezone: str):
    """SQL: the calendar day of a timestamptz column in the time zone `timezone`."""
    return sa.cast(sa.func.timezone(timezone, column), sa.Date)
