"""The REST API over HTTP: its OpenAPI document (valid, and honoured by the app: schemathesis),
ETags, paging links and problem documents in the client's language."""
import hypothesis
import pytest
import schemathesis
from openapi_spec_validator import validate

from app.accounts.models import User
from app.notifications import notify
from tenants.context import tenant_context
from tenants.db import db
from tests.support.accounts import signed_in_citizen
from tests.support.cities import host
from tests.support.oauth import add_client, bearer, citizen_token


@pytest.fixture()
def citizen_with_token(app, cities, client):
    alpha = cities["alpha"]
    client_id, _ = add_client(app, alpha, scopes=("profile:read", "notifications:read"))
    user_id = signed_in_citizen(app, client, alpha, f"api-{id(client)}@example.com")
    token = citizen_token(app, client, alpha, client_id, "profile:read notifications:read")
    return user_id, token["access_token"]


def test_the_openapi_document_is_valid_openapi_3_1(app, cities, client):
    response = client.get("/api/v1/openapi.json", headers=host(cities["alpha"]))
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any error
    assert "/api/v1/me" in document["paths"]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"oauth2": ["profile:read"]}]


def test_the_documentation_page_is_served_from_the_city(app, cities, client):
    page = client.get("/api/v1/docs", headers=host(cities["beta"]))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/me" in html and "profile:read" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_etag_answers_304_to_if_none_match(app, cities, citizen_with_token):
    _, token = citizen_with_token
    api = app.test_client()
    first = api.get("/api/v1/me", headers=bearer(cities["alpha"], token))
    assert first.status_code == 200 and first.headers["ETag"]
    again = api.get("/api/v1/me", headers=bearer(cities["alpha"], token,
                                                 **{"If-None-Match": first.headers["ETag"]}))
    assert again.status_code == 304 and again.get_data() == b""


def test_lists_are_paged_with_link_headers(app, cities, citizen_with_token):
    alpha = cities["alpha"]
    user_id, token = citizen_with_token
    with tenant_context(alpha, app):
        user = db.session.get(User, user_id)
        for _ in range(5):
            notify(user, "password_changed")
        db.session.commit()
    api = app.test_client()
    page = api.get("/api/v1/me/notifications?page=2&page_size=2",
                   headers=bearer(alpha, token))
    assert page.status_code == 200, page.get_data(as_text=True)
    assert len(page.get_json()) == 2
    assert page.headers["X-Total-Count"] == "5"
    links = page.headers["Link"]
    assert 'page=1&page_size=2>; rel="prev"' in links or "page=1" in links
    assert 'rel="next"' in links and 'rel="last"' in links
    assert "page=3" in links


@pytest.mark.parametrize("language, title", [("en", "Not signed in"), ("zh-CN", "未登录")])
def test_problems_in_the_clients_language(app, cities, language, title):
    answer = app.test_client().get("/api/v1/me", headers={
        **host(cities["alpha"]), "Accept-Language": language,
        "Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"
    problem = answer.get_json()
    assert problem["status"] == 401 and problem["title"] == title
    assert "WWW-Authenticate" in answer.headers


def test_unknown_api_paths_answer_problems(app, cities):
    answer = app.test_client().get("/api/v1/nothing-here", headers=host(cities["alpha"]))
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"


def test_the_catalogue_lists_enabled_services_without_a_token(app, cities):
    answer = app.test_client().get("/api/v1/services", headers=host(cities["alpha"]))
    assert answer.status_code == 200
    assert isinstance(answer.get_json(), list)


def test_the_app_honours_its_openapi_document(app, cities, citizen_with_token):
    """Schemathesis generates requests for every operation of the document (with a valid
    token): no server errors, and every answer (status, content type, body, headers)
    conforms to the document. (Driven through hypothesis directly: schemathesis's pytest
    fixture loader does not run under pytest 9.)"""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                            headers=host(cities["alpha"]))
    headers = bearer(cities["alpha"], citizen_with_token[1])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=20, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def conforms(case):
            case.call_and_validate(headers=headers)

        conforms()


def test_a_page_far_past_the_end_is_empty(app, cities, citizen_with_token):
    answer = app.test_client().get(
        "/api/v1/me/notifications?page=2305842966264020802&page_size=5",
        headers=bearer(cities["alpha"], citizen_with_token[1]))
    assert answer.status_code == 200 and answer.get_json() == []
