"""Citizens report problems: a tracking number at once, told of it in their language, their
reports under "My account", anonymous reports with a contact address (throttled per client),
the category's questions checked, and the public list and pages without personal data."""
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.modules.service_requests import views as service_request_views
from app.modules.service_requests.models import ServiceCategory
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.service_requests.service_requests_support import (
    enable_service_requests,
    notifications,
    report,
    stored,
    tracking_number_of,
)
from tests.conftest import form_token, run_worker
from tests.support.accounts import signed_in_citizen
from tests.support.cities import configure_city, host

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("reports", locale="en")
    enable_service_requests(app, tenant)
    return tenant


def test_a_signed_in_citizen_reports_and_gets_a_tracking_number_at_once(app, client, town):
    signed_in_citizen(app, client, town, "wang@example.com")
    number = tracking_number_of(report(client, town, **{
        "attribute[depth_cm]": "12.5", "attribute[hazards]": ["water", "cyclists"],
        "attribute[seen_at]": "2026-05-01T14:30", "latitude": "28.4517",
        "longitude": "119.9229"}))
    assert re.fullmatch(r"SR\d{8}", number)
    found = stored(app, town, number)
    assert found.status == "submitted" and found.user_id is not None
    assert found.answers == {"size": "large", "lane": "left lane", "depth_cm": "12.5",
                             "hazards": ["water", "cyclists"],
                             "seen_at": "2026-05-01T14:30:00+08:00"}
    assert (found.due_at - found.created_at).days == 5  # the category's time limit
    assert found.department_id is not None  # the category's department
    page = client.get(f"/services/service-requests/requests/{number}", headers=host(town))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and number in text and "A deep hole" in text
    assert "geo:28.451700,119.922900" in text
    assert "Your answers" in text and "Large" in text  # the reporter sees their answers
    (told,) = notifications(app, town)
    assert told.recipient == "wang@example.com" and told.event == "service_request_received"
    assert told.subject == f"Your report {number} is received"
    assert f"http://{town.domains[0]}/services/service-requests/requests/{number}" in told.body
    account = client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert number in account and "Your reports" in account


def test_my_account_shows_the_latest_reports_and_links_to_all_of_them(app, client, town,
                                                                      monkeypatch):
    monkeypatch.setattr(service_request_views, "MY_PAGE_SIZE", 4)
    signed_in_citizen(app, client, town, "many@example.com")
    numbers = [tracking_number_of(report(client, town)) for _ in range(6)]
    account = client.get("/account/", headers=host(town)).get_data(as_text=True)
    assert [number in account for number in numbers] == [False] + [True] * 5
    assert 'href="/services/service-requests/mine"' in account
    first = client.get("/services/service-requests/mine", headers=host(town))
    shown = re.findall(r'requests/(SR\d{8})"', first.get_data(as_text=True))
    assert first.status_code == 200 and shown == numbers[::-1][:4]
    second = client.get("/services/service-requests/mine?page=2", headers=host(town))
    assert re.findall(r'requests/(SR\d{8})"', second.get_data(as_text=True)) == numbers[1::-1]
    # each notification links to its report's page
    assert {told.path for told in notifications(app, town)} == {
        f"/services/service-requests/requests/{number}" for number in numbers}
    signed_out = app.test_client().get("/services/service-requests/mine", headers=host(town))
    assert signed_out.status_code == 302 and "/account/login" in signed_out.location


def test_an_anonymous_report_needs_an_address_which_is_never_published(app, client, town,
                                                                        outbox):
    refused = report(client, town, contact_email="")
    assert refused.status_code == 422
    assert "Enter your email address." in refused.get_data(as_text=True)
    assert notifications(app, town) == []
    number = tracking_number_of(report(client, town, contact_email="Li.Na@Example.com",
                                       contact_name="Li Na", description="Broken kerb"))
    found = stored(app, town, number)
    assert (found.user_id, found.contact_email, found.contact_name) == (
        None, "li.na@example.com", "Li Na")
    run_worker(app)  # the mail goes out though no account exists
    mail = outbox(town.slug)[-1]
    assert mail["To"] == "li.na@example.com" and number in mail["Subject"]
    for path in (f"/services/service-requests/requests/{number}",
                 "/services/service-requests/requests"):
        page = client.get(path, headers=host(town)).get_data(as_text=True)
        assert number in page and "Li Na" not in page and "li.na@" not in page.lower()


def test_a_city_may_refuse_anonymous_reports(app, client, town):
    configure_city(app, town, values={"service_requests": {"anonymous_reports": False}})
    token = form_token(client.get("/account/login", headers=host(town)))
    for method in (client.get, client.post):
        response = method("/services/service-requests/report/pothole", headers=host(town),
                          data={"csrf_token": token, "description": "x", "address": "y",
                                "contact_email": "x@example.com"})
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert notifications(app, town) == []


def test_anonymous_reports_are_throttled_per_client_but_accounts_are_not(app, make_city):
    tenant = make_city("throttled", locale="en")
    enable_service_requests(app, tenant, anonymous_reports_per_hour=2)
    client = app.test_client()
    for n in range(2):
        tracking_number_of(report(client, tenant, contact_email=f"a{n}@example.com"))
    third = report(client, tenant, contact_email="victim@example.com")
    assert third.status_code == 429
    assert [n.recipient for n in notifications(app, tenant)] == ["a0@example.com",
                                                                 "a1@example.com"]
    signed_in_citizen(app, client, tenant, "has-account@example.com")
    for _ in range(3):
        tracking_number_of(report(client, tenant))


@pytest.mark.parametrize(("answers", "message"), [
    ({"attribute[size]": None}, "How large is it?: Answer this question."),
    ({"attribute[size]": "huge"}, "Choose one of the options given."),
    ({"attribute[depth_cm]": "deep"}, "Enter a number, such as 12 or 3.5."),
    ({"attribute[depth_cm]": "NaN"}, "Enter a number, such as 12 or 3.5."),
    ({"attribute[seen_at]": "yesterday"}, "Enter a date and time"),
    ({"attribute[hazards]": ["water", "fire"]}, "Choose among the options given."),
    ({"attribute[lane]": "x" * 201}, "Write at most 200 characters."),
    ({"latitude": "28.1"}, "Give both the latitude and the longitude, or neither."),
    ({"latitude": "91", "longitude": "120"}, "A latitude is from -90 to 90."),
    ({"description": ""}, "Describe the problem."),
    ({"address": " "}, "Say where the problem is."),
])
def test_wrong_answers_are_named_and_nothing_is_saved(app, client, town, answers, message):
    signed_in_citizen(app, client, town, f"wrong-{len(notifications(app, town))}-"
                      f"{abs(hash(str(answers)))}@example.com")
    response = report(client, town, **answers)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert notifications(app, town) == []


def test_hostile_text_is_cleaned_and_escaped(app, client, town):
    signed_in_citizen(app, client, town, "hostile@example.com")
    # A NUL is refused before the module sees it (app/web/input_checks.py), and nothing is kept.
    refused = report(client, town, description="a NUL\x00 here")
    assert refused.status_code == 400
    with tenant_context(town, app):
        assert db.session.scalar(sa.text("SELECT count(*) FROM service_requests")) == 0
    number = tracking_number_of(report(
        client, town, description="<script>alert(1)</script>\x1b bad\r\nline"))
    assert stored(app, town, number).description == "<script>alert(1)</script> bad\nline"
    page = client.get(f"/services/service-requests/requests/{number}", headers=host(town))
    assert "<script>alert" not in page.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.get_data(as_text=True)


def test_the_public_list_filters_and_keeps_to_its_city(app, client, town, make_city):
    signed_in_citizen(app, client, town, "lister@example.com")
    hole = tracking_number_of(report(client, town, description="Hole in the road"))
    paint = tracking_number_of(report(client, town, code="graffiti", description="Paint"))
    listed = client.get("/services/service-requests/requests?category=graffiti",
                        headers=host(town)).get_data(as_text=True)
    assert paint in listed and hole not in listed
    closed = client.get("/services/service-requests/requests?status=closed",
                        headers=host(town)).get_data(as_text=True)
    assert paint not in closed and hole not in closed
    other = make_city("other-reports", locale="en")
    enable_service_requests(app, other)
    elsewhere = client.get(f"/services/service-requests/requests/{hole}", headers=host(other))
    assert elsewhere.status_code == 404  # the other city has no report of this number
    assert client.get("/services/service-requests/requests/SR-1", headers=host(town)
                      ).status_code == 404


def test_nothing_answers_where_the_module_is_not_enabled(app, client, make_city):
    tenant = make_city("no-reports", locale="en")
    for path in ("/services/service-requests/", "/services/service-requests/requests",
                 "/services/service-requests/report/pothole", "/open311/v2/services.json"):
        assert client.get(path, headers=host(tenant)).status_code == 404, path
    answer = client.get("/open311/v2/services.json", headers=host(tenant))
    assert answer.json[0]["code"] == 404  # in the specification's error format


def test_a_closed_category_takes_no_reports(app, client, town):
    with tenant_context(town, app):
        db.session.execute(sa.update(ServiceCategory).where(ServiceCategory.code == "graffiti")
                           .values(active=False))
        db.session.commit()
    index = client.get("/services/service-requests/", headers=host(town)).get_data(as_text=True)
    assert "Pothole" in index and "Graffiti" not in index
    assert client.get("/services/service-requests/report/graffiti",
                      headers=host(town)).status_code == 404


def test_a_report_made_on_another_domain_is_linked_on_the_citys_stored_one(app, client,
                                                                            make_city):
    tenant = make_city("reporthosts", locale="en",
                       domains=["reporthosts.test", "www.reporthosts.test"])
    enable_service_requests(app, tenant)
    on_the_second = SimpleNamespace(domains=["www.reporthosts.test"])
    number = tracking_number_of(report(client, on_the_second, contact_email="li@example.com"))
    [told] = notifications(app, tenant)
    assert f"http://reporthosts.test/services/service-requests/requests/{number}" in told.body
    assert "www.reporthosts.test" not in told.body
