"""The live analytics dashboard: who may see it, the figures it adds up (per day in the city's
time zone, periods, percentages), its charts and its self-refreshing fragment, and a number of
queries that does not grow with the data."""
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.admin.dashboard import format_value, new_citizen_accounts, values_of
from app.figures import Figure
from app.modules import discover
from tenants.context import tenant_context
from tenants.db import db
from tests.support.accounts import add_citizen, sign_in_to_admin, signed_in_staff
from tests.support.cities import configure_city, host

ZONE = "Asia/Shanghai"


@pytest.fixture()
def town(make_city):
    return make_city("dash", locale="en", timezone=ZONE)


def add_accounts(app, tenant, moments: list[datetime]) -> None:
    with tenant_context(tenant, app):
        db.session.execute(sa.insert(User), [
            {"email": f"c{n}-{moment.timestamp()}@example.com", "created_at": moment}
            for n, moment in enumerate(moments)])
        db.session.commit()


def city_today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(ZONE))


def test_signed_out_visitors_go_to_sign_in_and_citizens_get_403(app, client, town):
    response = client.get("/admin/dashboard", headers=host(town))
    assert response.status_code == 302 and "/admin/login" in response.location
    add_citizen(app, town, "citizen@example.com")
    sign_in_to_admin(client, town, "citizen@example.com")
    assert client.get("/admin/dashboard", headers=host(town)).status_code == 403
    assert client.get("/admin/dashboard/figures", headers=host(town)).status_code == 403


def test_a_viewer_sees_the_dashboard_with_the_citys_figures(app, client, town):
    today = city_today()
    # Days are the city's: 23:30 in Shanghai is the same day there, though the day before
    # in UTC for early hours.
    add_accounts(app, town, [at(today, 0) + timedelta(minutes=30), at(today, 23) - timedelta(
        hours=1), at(today - timedelta(days=3), 12), at(today - timedelta(days=20), 12),
        at(today - timedelta(days=40), 12)])
    signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    response = client.get("/admin/dashboard", headers=host(town))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New citizen accounts" in page
    # today 2 (the viewer's own account is staff: not counted), 7 days 3, 30 days 4
    periods = page.split('class="figure-periods"')[1].split("</dl>")[0]
    assert [cell.split("</dd>")[0] for cell in periods.split("<dd>")[1:]] == ["2", "3", "4"]
    assert 'role="img"' in page and "<title id=" in page and "<table>" in page
    assert page.count('class="chart-bar"') == 30
    assert 'data-refresh-url="/admin/dashboard/figures"' in page
    assert "Pause automatic updates" in page and 'aria-live="polite"' in page
    assert 'href="/admin/dashboard">Refresh the figures' in page  # without a script
    fragment = client.get("/admin/dashboard/figures", headers=host(town))
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "New citizen accounts" in text


def test_accounts_are_counted_per_day_in_the_citys_time_zone(app, town):
    today = city_today()
    add_accounts(app, town, [at(today - timedelta(days=1), 23) + timedelta(minutes=59),
                             at(today, 0) + timedelta(minutes=1), at(today, 0)])
    with tenant_context(town, app):
        counts = new_citizen_accounts(today - timedelta(days=1), ZONE)
    assert counts == {today - timedelta(days=1): 1, today: 2}


def test_periods_add_up_and_percentages_divide_the_sums(app):
    today = date(2026, 3, 31)
    ratios = {today: (1, 2), today - timedelta(days=1): (3, 4),
              today - timedelta(days=10): (0, 4), today - timedelta(days=40): (9, 9)}
    money = {today: 150, today - timedelta(days=6): 50, today - timedelta(days=7): 1000}
    with app.test_request_context():
        percent = values_of(Figure("rate", "Rate", unit="percent",
                                   per_day=lambda first, zone: ratios), today, ZONE)
        assert percent.totals == {1: (1, 2), 7: (4, 6), 30: (4, 10)}
        assert [percent.shown(percent.totals[p]) for p in (1, 7, 30)] == ["50%", "66.7%", "40%"]
        assert percent.bar((3, 4)) == 75 and percent.bar((0, 0)) == 0
        assert format_value("percent", (0, 0)) == "–"
        amount = values_of(Figure("paid", "Paid", unit="fen",
                                  per_day=lambda first, zone: money), today, ZONE)
        assert amount.totals == {1: 150, 7: 200, 30: 1200}
        assert amount.shown(amount.totals[30]) == "¥12.00"
        assert len(amount.days) == 30 and amount.days[0][0] == today - timedelta(days=29)
        assert format_value("count", 12345) == "12,345"
        now = values_of(Figure("waiting", "Waiting", current=lambda: 7), today, ZONE)
        assert now.current == 7 and now.days == []


def test_module_staff_see_only_their_modules_figures(app, client, town):
    with_figures = [key for key, module in discover().items() if module.figures]
    assert len(with_figures) >= 2, "needs two modules with figures"
    mine, other = with_figures[:2]
    configure_city(app, town, enable=with_figures)
    signed_in_staff(app, client, town, "clerk@example.com", role="clerk", modules=[mine])
    page = client.get("/admin/dashboard", headers=host(town)).get_data(as_text=True)
    assert str(discover()[mine].figures[0].label) in page
    assert str(discover()[other].figures[0].label) not in page


def _statements(app, client, town, path) -> int:
    """SQL statements of one request (the test client runs it in this thread; the directory's
    poller runs its own in another)."""
    count, this_thread = [0], threading.get_ident()

    def counted(*args):
        if threading.get_ident() == this_thread:
            count[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(path, headers=host(town)).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return count[0]


def test_the_number_of_queries_does_not_grow_with_the_data(app, client, town):
    configure_city(app, town, enable=[key for key, module in discover().items() if module.figures])
    signed_in_staff(app, client, town, "boss@example.com", role="admin")
    few = _statements(app, client, town, "/admin/dashboard/figures")
    now = datetime.now(UTC)
    add_accounts(app, town, [now - timedelta(hours=n * 7) for n in range(500)])
    many = _statements(app, client, town, "/admin/dashboard/figures")
    figures = 1 + sum(len(module.figures) for module in discover().values())
    assert 0 < many == few  # 0 would mean the counter saw nothing
    assert few <= figures + 12  # one per figure, and the request's own few
