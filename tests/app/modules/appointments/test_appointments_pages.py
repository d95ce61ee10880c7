"""Hospital appointments through the pages: the citizen's booking flow, "My appointments",
cancel and move, the staff's day list, check-in, no-show, block and set-up, and the refusals
(wrong state, another citizen's or city's appointment, a disabled module)."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.audit.models import AuditEntry
from app.modules.appointments import views as appointment_views
from app.modules.appointments.demo import add_demo_data
from app.modules.appointments.models import (
    Appointment,
    Closure,
    Department,
    Hospital,
    Schedule,
    SlotBlock,
)
from app.modules.appointments.slots import bookable_slots
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import ENTER_CITY_SQL, db
from tests.app.modules.appointments.test_appointments import (
    ID_NUMBER,
    appointment,
    book,
    enable,
    local,
    new_citizen,
    set_up_hospital,
    start_in,
    tomorrow,
)
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import host, post_form

BASE = "/services/appointments"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("care", locale="en", timezone="Asia/Shanghai")
    enable(app, tenant)
    return tenant


@pytest.fixture()
def place(app, town):
    return set_up_hospital(app, town)


def page(client, tenant, path, status=200) -> str:
    response = client.get(path, headers=host(tenant))
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def book_link(tenant, place, hour=9) -> str:
    start = f"{tomorrow().isoformat()}T{hour:02d}:00"
    return f"{BASE}/book?department={place.department}&doctor={place.doctor}&start={start}"


def post_booking(client, tenant, link, data):
    """The booking form as the browser sends it: its CSRF token and idempotency key."""
    form = client.get(link, headers=host(tenant))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form.get_data(as_text=True))
    return client.post(link, headers=host(tenant), data={
        "csrf_token": form_token(form), "idempotency_key": key.group(1), **data})


def test_a_double_click_with_the_rule_off_books_once(app, client, town, place):
    """Two threads post the same form at once (one form, one key): one booking."""
    import threading

    enable(app, town, one_per_department_per_day=False, max_active_per_citizen=5)
    signed_in_citizen(app, client, town, "patient@example.com")
    link = book_link(town, place)
    form = client.get(link, headers=host(town))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form.get_data(as_text=True))
    data = {"csrf_token": form_token(form), "idempotency_key": key.group(1),
            "patient_name": "Zhang San", "id_number": ID_NUMBER, "phone": "13812345678"}
    barrier, answers = threading.Barrier(2), []

    def click():
        barrier.wait()
        answers.append(client.post(link, headers=host(town), data=data))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert answers[0].location == answers[1].location  # both to the one booking
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    # Another rendering of the form (a second tab) for the same slot: refused by the database.
    again = post_booking(client, town, link, {
        "patient_name": "Zhang San", "id_number": ID_NUMBER, "phone": "13812345678"})
    assert again.status_code == 409
    assert "already have an appointment at this time" in again.get_data(as_text=True)
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def test_a_booking_post_enters_the_city_once(app, client, town, place):
    """One transaction: the redirect's reference is read before the commit expires it (not
    in a second transaction), and the reference's savepoint does not enter the city again."""
    signed_in_citizen(app, client, town, "patient@example.com")
    link = book_link(town, place)
    form = client.get(link, headers=host(town))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form.get_data(as_text=True))
    entered = []

    def record(_connection, _cursor, statement, *_args):
        if statement == ENTER_CITY_SQL:
            entered.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post(link, headers=host(town), data={
            "csrf_token": form_token(form), "idempotency_key": key.group(1),
            "patient_name": "Zhang San", "id_number": ID_NUMBER, "phone": "13812345678"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    with tenant_context(town, app):
        made = db.session.scalars(sa.select(Appointment)).one()
    assert response.location.endswith(f"/mine/{made.reference}")
    assert len(entered) == 1


def test_a_citizen_books_from_the_hospital_to_the_qr_code(app, client, town, place):
    assert "City Hospital" in page(client, town, f"{BASE}/")
    assert "Cardiology" in page(client, town, f"{BASE}/hospitals/{place.hospital}")
    department = page(client, town, f"{BASE}/departments/{place.department}")
    assert "Any doctor" in department and "Dr Li" in department
    days = page(client, town, f"{BASE}/departments/{place.department}/times"
                              f"?doctor={place.doctor}")
    assert f"day={tomorrow().isoformat()}" in days
    times = page(client, town, f"{BASE}/departments/{place.department}/times"
                               f"?doctor={place.doctor}&day={tomorrow().isoformat()}")
    link = book_link(town, place).replace("&", "&amp;")
    assert link in times and "3 places free" in times
    response = client.get(book_link(town, place), headers=host(town))
    assert response.status_code == 302 and "/account/login" in response.location

    citizen = signed_in_citizen(app, client, town, "patient@example.com")
    response = post_booking(client, town, book_link(town, place), {
        "patient_name": "Zhang San", "id_number": "110105194912310021", "phone": "12345"})
    form = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Zhang San"' in form
    assert "check the last character" in form and "11-digit" in form
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0

    response = post_booking(client, town, book_link(town, place), {
        "patient_name": "Zhang San", "id_number": ID_NUMBER.lower(), "phone": "138 1234 5678"})
    assert response.status_code == 302
    reference = response.location.rsplit("/", 1)[1]
    detail = page(client, town, f"{BASE}/mine/{reference}")
    assert reference in detail and '<svg' in detail and "Your appointment is booked" in detail
    assert ID_NUMBER not in detail and "002X" in detail
    assert reference in page(client, town, "/account/")
    row = appointment(app, town, reference)
    assert (row.user_id, row.phone, row.status) == (citizen, "13812345678", "booked")


def test_a_full_slot_is_refused_with_a_clear_answer(app, client, make_city):
    town = make_city("care-full", locale="en", timezone="Asia/Shanghai")
    enable(app, town)
    place = set_up_hospital(app, town, capacity=1)
    book(app, town, new_citizen(app, town), place.department, local(tomorrow(), 9),
         place.doctor)
    signed_in_citizen(app, client, town, "patient@example.com")
    times = page(client, town, f"{BASE}/departments/{place.department}/times"
                               f"?doctor={place.doctor}&day={tomorrow().isoformat()}")
    assert "full" in times
    response = post_booking(client, town, book_link(town, place), {
        "patient_name": "Li Si", "id_number": ID_NUMBER, "phone": "13812345678"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "This slot is full" in body
    assert 'value="Li Si"' in body


def test_cancel_and_move_from_my_appointments(app, client, town, place, monkeypatch):
    monkeypatch.setattr(appointment_views, "PAST_PAGE_SIZE", 1)  # the earlier ones, one a page
    signed_in_citizen(app, client, town, "patient@example.com")
    reference = post_booking(client, town, book_link(town, place), {
        "patient_name": "Zhang San", "id_number": ID_NUMBER, "phone": "13812345678"}
    ).location.rsplit("/", 1)[1]
    moving = page(client, town, f"{BASE}/mine/{reference}/move?day={tomorrow().isoformat()}")
    assert "Move to" in moving
    response = post_form(client, town, f"{BASE}/mine/{reference}/move",
                         {"start": f"{tomorrow().isoformat()}T10:30"},
                         page=f"{BASE}/mine/{reference}/move?day={tomorrow().isoformat()}")
    assert response.status_code == 303
    new_reference = response.location.rsplit("/", 1)[1]
    assert appointment(app, town, reference).status == "moved"
    assert appointment(app, town, new_reference).starts_at == local(tomorrow(), 10, 30)
    response = post_form(client, town, f"{BASE}/mine/{new_reference}/cancel", {},
                         page=f"{BASE}/mine/{new_reference}")
    assert response.status_code == 303
    assert appointment(app, town, new_reference).status == "cancelled"
    mine = page(client, town, f"{BASE}/mine")
    assert "You have no appointments coming up." in mine and "Cancelled" in mine
    # both are listed, the cancelled one first, the moved one on the next page
    assert f"/mine/{new_reference}" in mine and f"/mine/{reference}" not in mine
    assert f'href="{BASE}/mine?page=2"' in mine
    older = page(client, town, f"{BASE}/mine?page=2")
    assert f"/mine/{reference}" in older and 'rel="next"' not in older
    # the notifications link to the bookings they are about
    with tenant_context(town, app):
        paths = db.session.scalars(sa.select(Notification.path).order_by(Notification.id)).all()
    assert paths == [f"{BASE}/mine/{reference}", f"{BASE}/mine/{new_reference}",
                     f"{BASE}/mine/{new_reference}"]


def test_past_the_cut_off_the_page_says_to_call(app, client, town, place):
    citizen = signed_in_citizen(app, client, town, "patient@example.com")
    reference = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    start_in(app, town, reference, timedelta(minutes=30))
    detail = page(client, town, f"{BASE}/mine/{reference}")
    assert "Please call the hospital" in detail and "Cancel the appointment" not in detail
    response = post_form(client, town, f"{BASE}/mine/{reference}/cancel", {},
                         page=f"{BASE}/mine/{reference}")
    assert response.status_code == 303
    assert appointment(app, town, reference).status == "booked"
    response = post_form(client, town, f"{BASE}/mine/{reference}/move",
                         {"start": f"{tomorrow().isoformat()}T10:30"}, page=f"{BASE}/mine")
    assert appointment(app, town, reference).status == "booked"


def test_another_citizens_or_citys_appointment_is_not_found(app, client, town, place,
                                                            make_city):
    owner = new_citizen(app, town)
    reference = book(app, town, owner, place.department, local(tomorrow(), 9), place.doctor)
    signed_in_citizen(app, client, town, "nosy@example.com")
    page(client, town, f"{BASE}/mine/{reference}", 404)
    response = post_form(client, town, f"{BASE}/mine/{reference}/cancel", {},
                         page=f"{BASE}/mine")
    assert response.status_code == 404
    assert appointment(app, town, reference).status == "booked"
    elsewhere = make_city("care-else", locale="en")
    enable(app, elsewhere)
    other_client = app.test_client()
    signed_in_citizen(app, other_client, elsewhere, "nosy@example.com")
    page(other_client, elsewhere, f"{BASE}/mine/{reference}", 404)


def test_the_pages_answer_404_where_the_module_is_off(app, client, make_city):
    town = make_city("care-off", locale="en")
    signed_in_citizen(app, client, town, "patient@example.com")
    page(client, town, f"{BASE}/", 404)
    page(client, town, f"{BASE}/mine", 404)
    staff_client = app.test_client()
    signed_in_staff(app, staff_client, town)
    page(staff_client, town, "/admin/appointments/", 404)
    enable(app, town)
    page(client, town, f"{BASE}/")


# -- staff ---------------------------------------------------------------------------------------

@pytest.fixture()
def clerk(app, client, town):
    return signed_in_staff(app, client, town, "desk@example.com", role="clerk",
                           modules=["appointments"])


def test_the_day_list_and_check_in_by_qr_content(app, client, town, place, clerk):
    citizen = new_citizen(app, town)
    reference = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    listing = page(client, town, f"/admin/appointments/?department={place.department}"
                                 f"&day={tomorrow().isoformat()}")
    assert reference in listing and "**************002X" in listing
    assert ID_NUMBER not in listing and re.search(r"Booked: 1", listing)
    response = post_form(client, town, "/admin/appointments/check-in",
                         {"code": f"CIVIC-APPT:{town.slug}:{reference}"},
                         page="/admin/appointments/")
    assert response.status_code == 409 and "not for today" in response.get_data(as_text=True)
    start_in(app, town, reference, timedelta(0))
    response = post_form(client, town, "/admin/appointments/check-in",
                         {"code": f"CIVIC-APPT:{town.slug}:{reference.lower()}"},
                         page="/admin/appointments/")
    assert response.status_code == 303
    assert appointment(app, town, reference).status == "checked_in"
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(AuditEntry.actor).where(
            AuditEntry.action == "appointments.check_in")).endswith("desk@example.com")
    for code, status in ((f"CIVIC-APPT:other-city:{reference}", 404), ("", 422),
                         (reference, 409)):
        response = post_form(client, town, "/admin/appointments/check-in", {"code": code},
                             page="/admin/appointments/")
        assert response.status_code == status


def test_no_show_and_block_a_day(app, client, town, place, clerk):
    late = book(app, town, new_citizen(app, town), place.department, local(tomorrow(), 8),
                place.doctor)
    citizen = new_citizen(app, town)
    blocked = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    start_in(app, town, late, -timedelta(minutes=30))
    row = appointment(app, town, late)
    response = post_form(client, town, f"/admin/appointments/{row.id}/no-show", {},
                         page="/admin/appointments/")
    assert response.status_code == 303 and appointment(app, town, late).status == "no_show"
    response = post_form(client, town, "/admin/appointments/block",
                         {"department_id": place.department, "doctor_id": "",
                          "day": tomorrow().isoformat(), "time": "", "reason": ""})
    assert response.status_code == 422 and "Say why" in response.get_data(as_text=True)
    assert appointment(app, town, blocked).status == "booked"
    response = post_form(client, town, "/admin/appointments/block",
                         {"department_id": place.department, "doctor_id": "",
                          "day": tomorrow().isoformat(), "time": "", "reason": "Flooding"})
    assert response.status_code == 303
    assert appointment(app, town, blocked).status == "cancelled"
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(Notification.event).where(
            Notification.user_id == citizen).order_by(Notification.id.desc()).limit(1)
        ) == "appointment_cancelled_by_hospital"
    assert page(client, town, "/admin/appointments/setup", 403)


def test_a_clerk_blocks_a_slot_and_unblocks_it(app, client, town, place, clerk):
    citizen = new_citizen(app, town)
    cancelled = book(app, town, citizen, place.department, local(tomorrow(), 9), place.doctor)
    slot = {"department_id": place.department, "doctor_id": str(place.doctor),
            "day": tomorrow().isoformat(), "time": "09:10", "reason": "Broken scanner"}
    response = post_form(client, town, "/admin/appointments/block", slot)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "No slot starts at this time" in body
    assert 'value="09:10"' in body
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SlotBlock)) == 0
    assert appointment(app, town, cancelled).status == "booked"
    response = post_form(client, town, "/admin/appointments/block", {**slot, "time": "09:00"})
    assert response.status_code == 303
    assert appointment(app, town, cancelled).status == "cancelled"
    listed = page(client, town, "/admin/appointments/block")
    assert "Broken scanner" in listed and "Unblock" in listed
    with tenant_context(town, app):
        block_id = db.session.scalar(sa.select(SlotBlock.id))
    unblock = f"/admin/appointments/block/{block_id}/unblock"
    assert client.post(unblock, headers=host(town)).status_code == 400  # no CSRF token
    response = post_form(client, town, unblock, {}, page="/admin/appointments/block")
    assert response.status_code == 303
    assert "No blocks coming up." in page(client, town, "/admin/appointments/block")
    assert appointment(app, town, cancelled).status == "cancelled"
    assert book(app, town, new_citizen(app, town), place.department, local(tomorrow(), 9),
                place.doctor)
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(AuditEntry.actor).where(
            AuditEntry.action == "appointments.unblock")).endswith(":desk@example.com")
    response = post_form(client, town, unblock, {}, page="/admin/appointments/block")
    assert response.status_code == 404


def test_only_managers_delete_a_closure(app, client, town, place):
    with tenant_context(town, app):
        closure = Closure(hospital_id=place.hospital, first_day=tomorrow(),
                          last_day=tomorrow(), reason="Holiday")
        db.session.add(closure)
        db.session.commit()
        delete = f"/admin/appointments/closures/{closure.id}/delete"
    signed_in_staff(app, client, town, "desk@example.com", role="clerk",
                    modules=["appointments"])
    response = post_form(client, town, delete, {}, page="/admin/appointments/")
    assert response.status_code == 403
    manager = app.test_client()
    signed_in_staff(app, manager, town, "boss@example.com", role="module_manager",
                    modules=["appointments"])
    assert "Delete the closure" in page(manager, town, "/admin/appointments/setup")
    response = post_form(manager, town, delete, {}, page="/admin/appointments/setup")
    assert response.status_code == 303
    assert "No closures coming up." in page(manager, town, "/admin/appointments/setup")
    assert book(app, town, new_citizen(app, town), place.department, local(tomorrow(), 9),
                place.doctor)


def test_a_manager_sets_up_hospitals_and_schedules(app, client, town):
    signed_in_staff(app, client, town, "boss@example.com", role="module_manager",
                    modules=["appointments"])
    response = post_form(client, town, "/admin/appointments/hospitals/new",
                         {"name": "", "name_zh": ""})
    assert response.status_code == 422
    assert "Give a name in at least one language." in response.get_data(as_text=True)
    response = post_form(client, town, "/admin/appointments/hospitals/new",
                         {"name": "North Hospital", "name_zh": "北院", "active": "y"})
    assert response.status_code == 303
    with tenant_context(town, app):
        hospital_id = db.session.scalar(sa.select(Hospital.id))
    post_form(client, town, "/admin/appointments/departments/new",
              {"hospital_id": hospital_id, "name": "ENT", "active": "y"})
    post_form(client, town, "/admin/appointments/doctors/new",
              {"department_id": 1, "name": "Dr Zhou", "active": "y"})
    schedule = {"department_id": 1, "doctor_id": "1", "weekday": 2, "start_time": "09:00",
                "end_time": "08:00", "slot_minutes": 20, "capacity": 4}
    response = post_form(client, town, "/admin/appointments/schedules/new", schedule)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The end must be after the start." in body and 'value="09:00"' in body
    response = post_form(client, town, "/admin/appointments/schedules/new",
                         {**schedule, "end_time": "11:00"})
    assert response.status_code == 303
    with tenant_context(town, app):
        saved = db.session.scalars(sa.select(Schedule)).one()
        assert (saved.doctor_id, saved.capacity, saved.end_time.hour) == (1, 4, 11)
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action.like("appointments.%")).order_by(AuditEntry.id)).all()
    assert actions == ["appointments.hospitals.create", "appointments.departments.create",
                       "appointments.doctors.create", "appointments.schedules.create"]
    setup = page(client, town, "/admin/appointments/setup")
    assert "North Hospital" in setup and "Dr Zhou" in setup and "Wednesday" in setup
    response = post_form(client, town, "/admin/appointments/closures/new",
                         {"hospital_id": hospital_id, "department_id": "", "doctor_id": "",
                          "first_day": tomorrow().isoformat(),
                          "last_day": tomorrow().isoformat(), "reason": "Holiday"})
    assert response.status_code == 303
    assert "Holiday" in page(client, town, "/admin/appointments/setup")


def test_the_demo_hospitals_have_bookable_times(app, client, make_city):
    town = make_city("care-demo", locale="en", timezone="Asia/Shanghai")
    enable(app, town)
    with tenant_context(town, app):
        add_demo_data("beijing")  # Beijing's demo data, in a city of the test's own
        db.session.commit()
        department = db.session.scalars(sa.select(Department).where(
            Department.name == "Dermatology")).one()
        assert bookable_slots(department, 14)
    assert "Tongzhou District People's Hospital" in page(client, town, f"{BASE}/").replace(
        "&#39;", "'")


def test_bad_links_answer_404_and_chinese_pages_are_chinese(app, client, make_city):
    town = make_city("care-zh", timezone="Asia/Shanghai")  # the default language: Chinese
    enable(app, town)
    place = set_up_hospital(app, town)
    signed_in_citizen(app, client, town, "patient@example.com")
    page(client, town, f"{BASE}/book?doctor=any&start=2026-01-01T09:00", 404)
    page(client, town, f"{BASE}/book?department={place.department}&start=soon", 404)
    page(client, town, f"{BASE}/departments/{place.department}/times?doctor=999", 404)
    page(client, town, f"{BASE}/departments/{place.department}/times?day=someday", 404)
    listing = page(client, town, f"{BASE}/departments/{place.department}/times?doctor=any")
    assert "选择日期" in listing and "剩余" in listing and "Choose a day" not in listing
