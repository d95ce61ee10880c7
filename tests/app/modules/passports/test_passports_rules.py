"""The rules of passport renewal without a browser: the SLA deadline in working days, the
settings' validation, the dashboard figures."""
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.city_time import city_today
from app.modules import ModuleError, configure, discover, settings_of
from app.modules.passports import overdue_now, submitted_per_day, waiting_now
from app.modules.passports.models import PassportApplication
from app.modules.passports.workflow import (
    add_working_days,
    deadline_after_pause,
    sla_deadline,
    working_days_between,
)
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.passports.passports_support import enable_passports
from tests.support.accounts import add_citizen, signed_in_staff
from tests.support.cities import host, post_form

FRIDAY = date(2026, 11, 27)


@pytest.mark.parametrize(("start", "days", "closed", "due"), [
    (FRIDAY, 1, (), date(2026, 11, 30)),  # over the weekend to Monday
    (date(2026, 11, 28), 1, (), date(2026, 11, 30)),  # submitted on a Saturday
    (date(2026, 11, 25), 10, (), date(2026, 12, 9)),  # Wednesday + two working weeks
    (FRIDAY, 1, (date(2026, 11, 30),), date(2026, 12, 1)),  # Monday is a holiday
    (date(2026, 9, 30), 3, tuple(date(2026, 10, d) for d in range(1, 8)), date(2026, 10, 12)),
])
def test_the_deadline_counts_working_days(start, days, closed, due):
    assert add_working_days(start, days, frozenset(closed)) == due


def test_the_citys_holidays_move_the_deadline(app, make_city):
    tenant = make_city("passport-sla", locale="en")
    enable_passports(app, tenant, sla_working_days=2, public_holidays="2026-11-30\n")
    with tenant_context(tenant, app):
        assert sla_deadline(FRIDAY) == date(2026, 12, 2)


@pytest.mark.parametrize(("paused_on", "resumed_on", "waited"), [
    (FRIDAY, FRIDAY, 0),  # answered the same day
    (FRIDAY, date(2026, 11, 29), 0),  # answered over the weekend
    (FRIDAY, date(2026, 12, 2), 3),  # Monday, Tuesday, Wednesday
    (date(2026, 12, 2), FRIDAY, 0),
])
def test_the_working_days_a_case_waited(paused_on, resumed_on, waited):
    assert working_days_between(paused_on, resumed_on) == waited


def test_waiting_for_the_citizen_moves_the_deadline_by_working_days(app, make_city):
    tenant = make_city("passport-pause", locale="en")
    enable_passports(app, tenant, public_holidays="2026-11-30\n")
    with tenant_context(tenant, app):
        # Asked on Friday, answered on Wednesday: Monday is a holiday, so two days waited,
        # and the deadline (a Friday) moves past the weekend to Tuesday.
        assert deadline_after_pause(date(2026, 12, 4), FRIDAY, date(2026, 12, 2)) \
            == date(2026, 12, 8)
        assert deadline_after_pause(date(2026, 12, 4), FRIDAY, FRIDAY) == date(2026, 12, 4)


def test_bad_settings_are_refused_naming_the_field(app, make_city):
    tenant = make_city("passport-settings", locale="en")
    with tenant_context(tenant, app):
        with pytest.raises(ModuleError) as refused:
            configure(enable=["passports"], values={"passports": {
                "public_holidays": "2026-10-01\nnational day", "sla_working_days": 0}})
        db.session.rollback()
        assert set(refused.value.errors) == {"passports.public_holidays",
                                             "passports.sla_working_days"}
        assert "national day is not a date" in str(refused.value)
        assert settings_of("passports") == discover()["passports"].settings().load({})
        with pytest.raises(ModuleError):
            configure(values={"passports": {"offices": "Same office\nSame office"}})


def test_the_console_module_page_edits_the_holidays_and_keeps_the_names(app, client, make_city):
    """The module page's form has the holidays' text area; the offices and documents (named
    in two languages, on their own page) are left as they are when it is saved."""
    tenant = make_city("passport-console", locale="en")
    enable_passports(app, tenant)
    signed_in_staff(app, client, tenant, "admin@example.com", role="admin")
    page = client.get("/admin/modules/passports", headers=host(tenant)).get_data(as_text=True)
    assert re.search(r"<textarea[^>]* id=\"public_holidays\"", page)
    assert 'id="offices"' not in page
    response = post_form(client, tenant, "/admin/modules/passports", {
        "enabled": "y", "fee_fen": "0", "sla_working_days": "10",
        "public_holidays": "2026-10-01\r\n2026-10-02"})
    assert response.status_code == 302
    with tenant_context(tenant, app):
        settings = settings_of("passports")
    assert settings["public_holidays"] == "2026-10-01\n2026-10-02"
    assert [office["name"] for office in settings["offices"]] == [
        "Huayuan Road service centre", "East district office"]


def test_the_dashboard_figures(app, make_city):
    tenant = make_city("passport-figures", locale="en", timezone="Asia/Shanghai")
    enable_passports(app, tenant)
    user_id = add_citizen(app, tenant, "figures@example.com")
    now = datetime.now(UTC)
    with tenant_context(tenant, app):
        today = city_today()
        rows = [("submitted", now, today + timedelta(days=5)),
                ("in_review", now - timedelta(days=2), today - timedelta(days=1)),
                ("needs_information", now - timedelta(days=2), today - timedelta(days=1)),
                ("approved", now - timedelta(days=20), today - timedelta(days=8)),
                ("draft", None, None)]
        db.session.add_all(PassportApplication(user_id=user_id, status=status, submitted_at=at,
                                               sla_due=due) for status, at, due in rows)
        db.session.commit()
        assert waiting_now() == 2
        assert overdue_now() == 1
        per_day = submitted_per_day(today - timedelta(days=6), "Asia/Shanghai")
        assert sum(per_day.values()) == 3 and per_day[today] == 1
        plan = "\n".join(db.session.execute(sa.text(
            "EXPLAIN SELECT count(*) FROM passport_applications "
            "WHERE status IN ('submitted', 'in_review') AND sla_due < current_date")).scalars())
        db.session.rollback()
    assert "passport_applications" in plan


def test_a_citizen_has_one_draft_at_most(app, make_city):
    tenant = make_city("passport-drafts", locale="en")
    user_id = add_citizen(app, tenant, "drafts@example.com")
    with tenant_context(tenant, app):
        db.session.add(PassportApplication(user_id=user_id, status="submitted"))
        db.session.add(PassportApplication(user_id=user_id))
        db.session.commit()
        db.session.add(PassportApplication(user_id=user_id))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
