"""Hospitals' texts in both languages: the set-up forms take each pair side by side (Chinese
first) and keep both, need one of a required pair, refuse what no column holds; citizens, the
API and the cancellation notice read each text in their language, the other one where the city
gave only that."""
import re

import pytest
import sqlalchemy as sa

from app.modules.appointments.models import Closure, Department, Doctor, Hospital
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    book,
    enable,
    local,
    new_citizen,
    set_up_hospital,
    tomorrow,
)
from tests.support.accounts import signed_in_staff
from tests.support.cities import host, post_form

SETUP = "/admin/appointments"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("twotongues", locale="en", timezone="Asia/Shanghai")
    enable(app, tenant)
    return tenant


@pytest.fixture()
def manager(app, client, town):
    signed_in_staff(app, client, town, "boss@example.com", role="module_manager",
                    modules=["appointments"])
    return client


def in_language(client, town, code) -> None:
    """The page's language from now on, as the switcher sets it."""
    assert client.get(f"/lang/{code}", headers=host(town)).status_code == 302


def hospital_rows(app, town) -> list[tuple]:
    with tenant_context(town, app):
        return db.session.execute(sa.select(
            Hospital.name, Hospital.name_zh, Hospital.address, Hospital.address_zh)).all()


def test_the_form_shows_each_pair_side_by_side_and_keeps_both(app, town, manager):
    form = manager.get(f"{SETUP}/hospitals/new", headers=host(town)).get_data(as_text=True)
    pair = re.search(r'<fieldset class="bilingual">\s*<legend>Name</legend>(.*?)</fieldset>',
                     form, re.S)
    assert pair, form
    assert pair.group(1).index('name="name_zh"') < pair.group(1).index('name="name"')
    assert 'lang="zh-Hans"' in pair.group(1) and 'lang="en"' in pair.group(1)
    response = post_form(manager, town, f"{SETUP}/hospitals/new", {
        "name": " North Hospital ", "name_zh": "北院", "address": "1 North Road",
        "address_zh": "北路1号", "active": "y"})
    assert response.status_code == 303
    assert hospital_rows(app, town) == [("North Hospital", "北院", "1 North Road", "北路1号")]
    with tenant_context(town, app):
        hospital_id = db.session.scalar(sa.select(Hospital.id))
    edit = manager.get(f"{SETUP}/hospitals/{hospital_id}", headers=host(town))
    assert all(f'value="{text}"' in edit.get_data(as_text=True)
               for text in ("North Hospital", "北院", "1 North Road", "北路1号"))
    listed = manager.get(f"{SETUP}/setup", headers=host(town)).get_data(as_text=True)
    assert '<span lang="zh-Hans">北院</span> / <span lang="en">North Hospital</span>' in listed


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Give a name in at least one language."),
    ("zh_Hans", "请至少填写一种语言的名称。"),
])
def test_a_required_pair_needs_one_of_the_two_in_the_pages_language(app, town, manager,
                                                                    language, message):
    in_language(manager, town, language)
    response = post_form(manager, town, f"{SETUP}/hospitals/new",
                         {"name": "  ", "name_zh": "", "address": "1 North Road"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and 'value="1 North Road"' in page
    assert hospital_rows(app, town) == []
    response = post_form(manager, town, f"{SETUP}/hospitals/new", {"name_zh": "北院"})
    assert response.status_code == 303  # Chinese alone is enough
    assert hospital_rows(app, town) == [("", "北院", "", "")]


def test_hostile_values_are_refused_with_a_message_and_nothing_is_saved(app, town, manager):
    response = post_form(manager, town, f"{SETUP}/hospitals/new",
                         {"name": "North", "name_zh": "北" * 201})
    assert response.status_code == 422
    assert "Enter at most 200 characters." in response.get_data(as_text=True)
    response = post_form(manager, town, f"{SETUP}/hospitals/new",
                         {"name": "North", "address_zh": "北路\x001号"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert hospital_rows(app, town) == []


def test_citizens_and_the_api_read_each_text_in_their_language_or_the_other(app, town):
    place = set_up_hospital(app, town)
    with tenant_context(town, app):
        hospital = db.session.scalar(sa.select(Hospital))
        hospital.address_zh = "莲都区括苍路289号"  # no English address
        doctor = db.session.get(Doctor, place.doctor)
        doctor.title = "Chief physician"  # no Chinese title
        db.session.commit()
        hospital_id = hospital.id
    citizen = app.test_client()
    for language, name, title in (("en", "City Hospital", "Chief physician"),
                                  ("zh_Hans", "市医院", "Chief physician")):
        in_language(citizen, town, language)
        page = citizen.get(f"/services/appointments/hospitals/{hospital_id}",
                           headers=host(town)).get_data(as_text=True)
        assert name in page and "莲都区括苍路289号" in page
        page = citizen.get(f"/services/appointments/departments/{place.department}",
                           headers=host(town)).get_data(as_text=True)
        assert title in page
    for accept, name in (("en", "City Hospital"), ("zh", "市医院")):
        [listed] = citizen.get("/api/v1/appointments/hospitals", headers={
            **host(town), "Accept-Language": accept}).get_json()
        assert (listed["name"], listed["address"]) == (name, "莲都区括苍路289号")
        [doctor_entry] = [entry for department in listed["departments"]
                          for entry in department["doctors"] if entry["id"] == place.doctor]
        assert doctor_entry["title"] == "Chief physician"


def test_the_cancelled_citizen_is_told_the_reason_in_their_language(app, town, manager):
    place = set_up_hospital(app, town)
    english = new_citizen(app, town, locale="en")
    chinese = new_citizen(app, town, locale="zh_Hans")
    for citizen in (english, chinese):
        book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    with tenant_context(town, app):
        hospital_id = db.session.get(Department, place.department).hospital_id
    day = tomorrow().isoformat()
    response = post_form(manager, town, f"{SETUP}/closures/new", {
        "hospital_id": hospital_id, "department_id": "", "doctor_id": "", "first_day": day,
        "last_day": day, "reason": "", "reason_zh": "设备检修"}, page=f"{SETUP}/closures/new")
    assert response.status_code == 303
    with tenant_context(town, app):
        closure = db.session.scalar(sa.select(Closure))
        assert (closure.reason, closure.reason_zh) == ("", "设备检修")
        bodies = dict(db.session.execute(sa.select(Notification.user_id, Notification.body)
                                         .where(Notification.event
                                                == "appointment_cancelled_by_hospital")).all())
    assert "Reason: 设备检修" in bodies[english]  # the only reason given, in Chinese
    assert "设备检修" in bodies[chinese] and "Reason" not in bodies[chinese]
    listed = manager.get(f"{SETUP}/setup", headers=host(town)).get_data(as_text=True)
    assert '<span lang="zh-Hans">设备检修</span> / <span lang="en">—</span>' in listed
