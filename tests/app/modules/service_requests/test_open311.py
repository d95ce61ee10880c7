"""Open311 GeoReport v2 at /open311/v2/, checked against the specification: element and field
names in the order it lists them, JSON types, well-formed XML (also from hostile input), ISO
8601 dates with an offset, the error format and status codes, the api_key of one city
worthless on another, jurisdiction_id, tokens for reports not given an id yet, and the
throttle per key."""
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from defusedxml.ElementTree import fromstring as parse_xml

from app.modules.service_requests.models import ServiceRequest
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import set_maintenance
from tests.app.modules.service_requests.service_requests_support import (
    enable_service_requests,
    issue_key,
    stored,
)
from tests.support.accounts import signed_in_staff
from tests.support.cities import configure_city, host

pytestmark = pytest.mark.usefixtures("uploads")

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords",
                  "group"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order",
                    "description"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]
W3C_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
API = "/open311/v2"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("open311", locale="en")
    enable_service_requests(app, tenant)
    return tenant


@pytest.fixture()
def api_key(app, town):
    return issue_key(app, town)


def get(client, town, path, **headers):
    return client.get(f"{API}/{path}", headers={**host(town), **headers})


def post(client, town, fmt="json", **data):
    return client.post(f"{API}/requests.{fmt}", headers=host(town), data=data)


def xml_of(response):
    """The XML document, checked as the specification wants it sent."""
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = parse_xml(response.data)  # well-formed, or this raises
    assert "xmlns" not in body  # no namespace
    return root


def json_of(response):
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json


def new_request(client, town, api_key, **data):
    response = post(client, town, **{
        "api_key": api_key, "service_code": "pothole", "attribute[size]": "small",
        "lat": "28.4517", "long": "119.9229", "address_string": "1 Renmin Street",
        "description": "Deep hole", **data})
    assert response.status_code == 200, response.get_data(as_text=True)
    return json_of(response)[0]


def test_the_service_list_in_both_formats(client, town):
    (pothole, graffiti) = json_of(get(client, town, "services.json"))
    assert list(pothole) == SERVICE_FIELDS
    assert pothole == {"service_code": "pothole", "service_name": "Pothole",
                       "description": "Holes in roads", "metadata": True, "type": "realtime",
                       "keywords": "road, hole", "group": "streets"}
    assert graffiti["metadata"] is False and graffiti["keywords"] is None
    root = xml_of(get(client, town, "services.xml"))
    assert root.tag == "services" and [s.tag for s in root] == ["service", "service"]
    assert [field.tag for field in root[0]] == SERVICE_FIELDS
    assert root[0].findtext("metadata") == "true" and root[1].findtext("metadata") == "false"
    assert root[1].find("keywords").text is None  # empty element: null
    chinese = json_of(get(client, town, "services.json", **{"Accept-Language": "zh-CN,zh"}))
    assert chinese[0]["service_name"] == "道路坑洼"


def test_a_service_definition_lists_its_attributes(client, town):
    definition = json_of(get(client, town, "services/pothole.json"))
    assert list(definition) == ["service_code", "attributes"]
    attributes = definition["attributes"]
    assert [a["order"] for a in attributes] == list(range(1, 8))
    assert [a["datatype"] for a in attributes] == [
        "singlevaluelist", "string", "number", "datetime", "text", "multivaluelist", "string"]
    size, lane = attributes[0], attributes[1]
    assert list(size) == [*ATTRIBUTE_FIELDS, "values"] and list(lane) == ATTRIBUTE_FIELDS
    assert size["values"] == [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}]
    assert (size["variable"], size["required"], lane["required"]) == (True, True, False)
    assert lane["datatype_description"] == "Such as left lane" and size[
        "datatype_description"] is None
    assert attributes[6]["variable"] is False  # a note, asking nothing
    root = xml_of(get(client, town, "services/pothole.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "pothole"
    first = root.find("attributes")[0]
    assert first.tag == "attribute" and [f.tag for f in first] == [*ATTRIBUTE_FIELDS, "values"]
    assert [(v.findtext("key"), v.findtext("name")) for v in first.find("values")] == [
        ("small", "Small"), ("large", "Large")]
    for fmt in ("json", "xml"):
        missing = get(client, town, f"services/nothing.{fmt}")
        assert missing.status_code == 404
    assert json_of(missing := get(client, town, "services/nothing.json")) == [
        {"code": 404, "description": "service_code nothing was not found."}]
    errors = xml_of(get(client, town, "services/nothing.xml"))
    assert errors.tag == "errors" and [e.tag for e in errors[0]] == ["code", "description"]
    assert missing.status_code == 404


def test_posting_a_request_with_the_city_key(app, client, town, api_key):
    created = new_request(client, town, api_key, email="Reporter@Example.com",
                          first_name="Li", last_name="Na", phone="13800138000",
                          account_id="app-user-7", device_id="phone-1",
                          **{"attribute[hazards][]": ["water", "cyclists"]})
    assert list(created) == ["service_request_id", "service_notice", "account_id"]
    number = created["service_request_id"]
    assert isinstance(number, str) and number.startswith("SR")
    assert created["account_id"] == "app-user-7"
    assert created["service_notice"] == "The city aims to deal with it within 5 days."
    found = stored(app, town, number)
    assert (found.source, found.contact_email, found.contact_name, found.contact_phone) == (
        "open311", "reporter@example.com", "Li Na", "13800138000")
    assert found.answers == {"size": "small", "hazards": ["water", "cyclists"]}
    xml = xml_of(post(client, town, "xml", api_key=api_key, service_code="graffiti",
                      address_id="A-17"))
    assert xml.tag == "service_requests" and xml[0].tag == "request"
    assert [f.tag for f in xml[0]] == ["service_request_id", "service_notice", "account_id"]
    assert xml[0].find("account_id").text is None


@pytest.mark.parametrize(("data", "status", "descriptions"), [
    ({"api_key": None}, 403, ["Invalid api_key received: can't proceed with create_request."]),
    ({"api_key": "o311_made-up"}, 403, None),
    ({"service_code": None}, 400, ["service_code was not provided."]),
    ({"service_code": "volcano"}, 404, ["service_code volcano was not found."]),
    ({"lat": None, "long": None, "address_string": None}, 400,
     ["A location must be given: lat and long, address_string or address_id."]),
    ({"long": None}, 400, ["lat and long must both be sent."]),
    ({"lat": "95", "long": "x"}, 400, None),
    ({"attribute[size]": "giant", "attribute[depth_cm]": "deep"}, 400,
     ["attribute[size]: Choose one of the options given.",
      "attribute[depth_cm]: Enter a number, such as 12 or 3.5."]),
    ({"attribute[size]": None}, 400, ["attribute[size]: Answer this question."]),
    ({"description": "x" * 4001}, 400, ["description may have at most 4000 characters."]),
    ({"email": "not an address"}, 400, ["email is not a valid email address."]),
    ({"media_url": "javascript:alert(1)"}, 400, ["media_url must be an http or https URL."]),
    ({"jurisdiction_id": "elsewhere.example.gov"}, 404, None),
])
def test_a_wrong_post_gets_the_specification_error_and_changes_nothing(
        app, client, town, api_key, data, status, descriptions):
    fields = {"api_key": api_key, "service_code": "pothole", "attribute[size]": "small",
              "lat": "28.1", "long": "119.9", "address_string": "Somewhere", **data}
    response = post(client, town, **{k: v for k, v in fields.items() if v is not None})
    assert response.status_code == status
    errors = json_of(response)
    assert all(error["code"] == status for error in errors)
    if descriptions:
        assert [error["description"] for error in errors] == descriptions
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == 0


def test_a_key_of_one_city_is_worthless_on_another(app, client, town, api_key, make_city):
    other = make_city("open311-other", locale="en")
    enable_service_requests(app, other)
    own_key = issue_key(app, other)
    data = {"service_code": "pothole", "attribute[size]": "small", "address_string": "Here"}
    assert post(client, other, api_key=api_key, **data).status_code == 403
    assert post(client, town, api_key=own_key, **data).status_code == 403
    assert post(client, other, api_key=own_key, **data).status_code == 200
    assert post(client, town, api_key=api_key, **data).status_code == 200


def test_jurisdiction_id_names_this_city_or_is_refused(client, town):
    for given in (town.domains[0], town.slug, town.domains[0].upper()):
        assert get(client, town, f"services.json?jurisdiction_id={given}").status_code == 200
    refused = get(client, town, "services.xml?jurisdiction_id=sfgov.org")
    assert refused.status_code == 404
    assert "sfgov.org was not found" in xml_of(refused).findtext("error/description")


def test_requests_are_listed_with_the_specification_fields_and_no_personal_data(
        app, client, town, api_key):
    number = new_request(client, town, api_key, email="secret@example.com",
                         first_name="Secret", phone="13912345678")["service_request_id"]
    listed = json_of(get(client, town, "requests.json"))
    (entry,) = listed
    assert list(entry) == REQUEST_FIELDS
    assert entry["service_request_id"] == number and entry["status"] == "open"
    assert entry["service_code"] == "pothole" and entry["agency_responsible"] == "Roads office"
    assert (entry["lat"], entry["long"]) == (28.4517, 119.9229)
    assert entry["zipcode"] is None and entry["status_notes"] is None
    for moment in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C_MOMENT.match(entry[moment]) and entry[moment].endswith("+08:00")
    text = get(client, town, "requests.xml").get_data(as_text=True)
    for personal in ("secret@example.com", "Secret", "13912345678"):
        assert personal not in text and personal not in str(listed)
    root = xml_of(get(client, town, "requests.xml"))
    assert [f.tag for f in root[0]] == REQUEST_FIELDS
    assert root[0].findtext("lat") == "28.451700"
    one = json_of(get(client, town, f"requests/{number}.json"))
    assert one == listed
    assert xml_of(get(client, town, f"requests/{number}.xml"))[0].findtext(
        "service_request_id") == number
    assert get(client, town, "requests/SR99999999.json").status_code == 404


def test_the_filters_of_get_requests(app, client, town, api_key):
    first = new_request(client, town, api_key)["service_request_id"]
    second = new_request(client, town, api_key, service_code="graffiti")["service_request_id"]
    old = new_request(client, town, api_key)["service_request_id"]
    with tenant_context(town, app):
        db.session.execute(sa.update(ServiceRequest).where(ServiceRequest.id == int(old[2:]))
                           .values(created_at=datetime.now(UTC) - timedelta(days=120)))
        db.session.execute(sa.update(ServiceRequest).where(ServiceRequest.id == int(second[2:]))
                           .values(status="closed", closed_at=datetime.now(UTC),
                                   close_reason="fixed", status_notes="Cleaned."))
        db.session.commit()

    def ids(query):
        response = get(client, town, f"requests.json?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return {entry["service_request_id"] for entry in json_of(response)}

    assert ids("") == {first, second}  # the last 90 days
    assert ids("status=open") == {first} and ids("status=closed") == {second}
    assert ids("status=open,closed") == {first, second}
    assert ids("service_code=graffiti") == {second}
    assert ids("service_code=graffiti,pothole") == {first, second}
    assert ids(f"service_request_id={old},{second}") == {old, second}  # overrides the rest
    start = quote((datetime.now(UTC) - timedelta(days=125)).isoformat())
    end = quote((datetime.now(UTC) - timedelta(days=100)).isoformat())
    assert ids(f"start_date={start}&end_date={end}") == {old}
    assert ids(f"start_date={start}") == {old}  # 90 days from the start
    closed = json_of(get(client, town, f"requests/{second}.json"))[0]
    assert (closed["status"], closed["status_notes"]) == ("closed", "Cleaned.")
    for query, message in (
            ("start_date=2026-01-01T00:00:00", "time zone"),
            ("start_date=yesterday", "w3 format"),
            (f"start_date={quote('2026-01-01T00:00:00Z')}&end_date="
             f"{quote('2026-06-01T00:00:00Z')}", "90 days"),
            ("status=pending", "status must be open or closed")):
        refused = get(client, town, f"requests.json?{query}")
        assert refused.status_code == 400 and message in refused.json[0]["description"]


def test_reports_under_review_get_a_token_and_their_id_once_accepted(app, client, town,
                                                                      api_key):
    configure_city(app, town, values={"service_requests": {"review_api_reports": True}})
    assert json_of(get(client, town, "services.json"))[0]["type"] == "batch"
    created = new_request(client, town, api_key, email="wait@example.com")
    assert list(created) == ["token", "service_notice", "account_id"]
    token = created["token"]
    assert json_of(get(client, town, f"tokens/{token}.json")) == [{"token": token}]
    assert json_of(get(client, town, "requests.json")) == []  # not public yet
    with tenant_context(town, app):
        request_id = db.session.scalar(sa.select(ServiceRequest.id).where(
            ServiceRequest.token == token))
    staff = app.test_client()
    signed_in_staff(app, staff, town, "reviewer@example.com", role="clerk",
                    modules=["service_requests"])
    page = staff.get(f"/admin/service-requests/{request_id}", headers=host(town))
    token_field = re.search(r'name="review-csrf_token"[^>]*value="([^"]+)"',
                            page.get_data(as_text=True)).group(1)
    accepted = staff.post(f"/admin/service-requests/{request_id}/review", headers=host(town),
                          data={"review-csrf_token": token_field, "review-decision": "accept"})
    assert accepted.status_code == 303
    (entry,) = json_of(get(client, town, f"tokens/{token}.json"))
    assert entry == {"service_request_id": f"SR{request_id:08d}", "token": token}
    root = xml_of(get(client, town, f"tokens/{token}.xml"))
    assert [f.tag for f in root[0]] == ["service_request_id", "token"]
    assert stored(app, town, entry["service_request_id"]).due_at is not None
    rejected = new_request(client, town, api_key)["token"]
    with tenant_context(town, app):
        db.session.execute(sa.update(ServiceRequest).where(ServiceRequest.token == rejected)
                           .values(status="rejected"))
        db.session.commit()
    assert get(client, town, f"tokens/{rejected}.json").status_code == 404
    assert get(client, town, "tokens/nothing.json").status_code == 404


def test_hostile_bytes_never_break_the_xml(client, town, api_key):
    number = new_request(client, town, api_key, description="a\x01b\x0bc <&> ]]> \ufffe end",
                         address_string="<b>1</b> & \x1b[31m")["service_request_id"]
    entry = xml_of(get(client, town, f"requests/{number}.xml"))[0]
    assert entry.findtext("description") == "abc <&> ]]>  end"
    assert entry.findtext("address") == "<b>1</b> & [31m"
    assert json_of(get(client, town, f"requests/{number}.json"))[0]["description"] == (
        "abc <&> ]]>  end")


def test_a_nul_character_or_a_json_body_is_refused_in_the_specifications_format(
        client, town, api_key):
    """The refusals checked before any view (input_checks) carry a lazy description, which
    the JSON errors document could not hold: a server error, found by the fuzz run."""
    refused = get(client, town, "services.json?tagline=%00")
    assert refused.status_code == 400
    assert "NUL character" in json_of(refused)[0]["description"]
    assert "NUL character" in xml_of(get(client, town, "services.xml?x=%00"))[0].findtext(
        "description")
    refused = client.post(f"{API}/requests.json", headers=host(town),
                          json={"api_key": api_key, "service_code": "pothole"})
    assert refused.status_code == 415
    assert "JSON" in json_of(refused)[0]["description"]


def test_calls_are_throttled_per_key(app, client, make_city):
    tenant = make_city("open311-throttle", locale="en")
    enable_service_requests(app, tenant, api_requests_per_minute=3)
    first, second = issue_key(app, tenant), issue_key(app, tenant, "Second app")
    data = {"service_code": "graffiti", "address_string": "Bus stop"}
    for _ in range(3):
        assert post(client, tenant, api_key=first, **data).status_code == 200
    throttled = post(client, tenant, "xml", api_key=first, **data)
    assert throttled.status_code == 429
    assert xml_of(throttled).findtext("error/code") == "429"
    assert post(client, tenant, api_key=second, **data).status_code == 200  # its own count
    for n in range(4):  # made-up keys share the count of their address
        refused = post(client, tenant, api_key=f"o311_guess{n}", **data)
    assert refused.status_code == 429


def test_discovery_and_unknown_paths(client, town):
    discovery = json_of(client.get("/open311/discovery.json", headers=host(town)))
    (endpoint,) = discovery["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"http://{town.domains[0]}/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml_of(client.get("/open311/discovery.xml", headers=host(town)))
    assert [f.tag for f in root] == ["changeset", "contact", "key_service", "endpoints"]
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == [
        "text/xml", "application/json"]
    unknown = get(client, town, "nothing/here.json")
    assert unknown.status_code == 404 and json_of(unknown)[0]["code"] == 404
    assert client.post(f"{API}/request.json", headers=host(town)).status_code == 404
    assert xml_of(get(client, town, "services.html")).tag == "errors"


def test_in_maintenance_apps_can_read_but_not_post(app, client, make_city):
    tenant = make_city("open311-maint", locale="en")
    enable_service_requests(app, tenant)
    api_key = issue_key(app, tenant)
    with app.app_context():
        set_maintenance(tenant.slug, True)
    data = {"api_key": api_key, "service_code": "graffiti", "address_string": "Bus stop"}
    deadline = time.monotonic() + 10  # each process sees the change within seconds
    while (refused := post(client, tenant, "xml", **data)).status_code != 503:
        assert time.monotonic() < deadline, refused.status_code
        time.sleep(0.2)
    assert xml_of(refused).findtext("error/code") == "503"
    assert get(client, tenant, "services.json").status_code == 200

    def count():
        with tenant_context(tenant, app):
            return db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest))

    before = count()  # posts made before this process saw the change went through
    assert post(client, tenant, **data).status_code == 503 and count() == before


def test_addresses_handed_to_other_systems_name_the_citys_stored_domain(app, client,
                                                                        make_city):
    tenant = make_city("open311-hosts", locale="en",
                       domains=["open311-hosts.test", "www.open311-hosts.test"])
    enable_service_requests(app, tenant)
    second = {"Host": "www.open311-hosts.test"}
    discovery = json_of(client.get("/open311/discovery.json", headers=second))
    assert discovery["endpoints"][0]["url"] == "http://open311-hosts.test/open311/v2"
    assert "http://open311-hosts.test/" in discovery["contact"]
    unknown = client.get(f"{API}/nothing.json", headers=second)
    assert "http://open311-hosts.test/open311/discovery.xml" in json_of(unknown)[0][
        "description"]
