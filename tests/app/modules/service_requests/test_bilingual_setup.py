"""Categories, their questions and departments in both languages: the set-up forms take each
pair side by side and keep both, need one of a required pair (either language), refuse what no
column holds; the citizen's pages and Open311 read each text in their language, the other one
where the city gave only that."""
import re

import pytest
import sqlalchemy as sa

from app.modules.service_requests.models import ServiceCategory, ServiceDepartment
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.service_requests.service_requests_support import (
    enable_service_requests,
)
from tests.support.accounts import signed_in_staff
from tests.support.cities import host, post_form

pytestmark = pytest.mark.usefixtures("uploads")

NEW_CATEGORY = "/admin/service-requests/categories/new"


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("pairs", locale="en")
    enable_service_requests(app, tenant)
    return tenant


@pytest.fixture()
def manager(app, town):
    client = app.test_client()
    signed_in_staff(app, client, town, "manager@example.com", role="module_manager",
                    modules=["service_requests"])
    return client


def category(app, town, code) -> ServiceCategory | None:
    with tenant_context(town, app):
        row = db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.code == code))
        if row is not None:
            db.session.expunge(row)
        return row


def test_a_category_keeps_both_languages_and_shows_each_in_its_own(app, client, town,
                                                                   manager):
    form = manager.get(NEW_CATEGORY, headers=host(town)).get_data(as_text=True)
    legends = re.findall(r'<fieldset class="bilingual"[^>]*>\s*<legend>([^<]+)</legend>', form)
    assert legends == ["Name", "Description", "Group (optional)"]
    made = post_form(manager, town, NEW_CATEGORY, {
        "code": "noise", "name": "", "name_zh": "噪声", "description": "Loud nights",
        "description_zh": "", "group_name": "environment", "group_name_zh": "环境",
        "days_to_close": "2", "department_id": "0", "active": "y"})
    assert made.status_code == 303
    saved = category(app, town, "noise")
    assert (saved.name, saved.name_zh, saved.description, saved.description_zh,
            saved.group_name, saved.group_name_zh) == (
        "", "噪声", "Loud nights", "", "environment", "环境")
    edit = manager.get(f"/admin/service-requests/categories/{saved.id}", headers=host(town))
    assert all(text in edit.get_data(as_text=True)
               for text in ('value="噪声"', "Loud nights", 'value="environment"', 'value="环境"'))
    for accept, group in (("en", "environment"), ("zh", "环境")):
        services = client.get("/open311/v2/services.json",
                              headers={**host(town), "Accept-Language": accept}).json
        [noise] = [service for service in services if service["service_code"] == "noise"]
        assert (noise["service_name"], noise["description"], noise["group"]) == (
            "噪声", "Loud nights", group)  # name and description: the only language given
    page = client.get("/services/service-requests/", headers=host(town)).get_data(as_text=True)
    assert "噪声" in page and "Loud nights" in page


def test_a_question_and_its_options_may_be_given_in_one_language(app, client, town, manager):
    post_form(manager, town, NEW_CATEGORY, {"code": "noise", "name": "Noise", "active": "y",
                                            "days_to_close": "2", "department_id": "0"})
    path = f"/admin/service-requests/categories/{category(app, town, 'noise').id}/questions/new"
    refused = post_form(manager, town, path, {
        "code": "when", "datatype": "singlevaluelist", "variable": "y", "description": "",
        "description_zh": "", "position": "1", "options": "night | At night | 夜间\nday | | "})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Write the question in at least one language." in page
    assert "Write each option as code | name in English | name in Chinese" in page
    asked = post_form(manager, town, path, {
        "code": "when", "datatype": "singlevaluelist", "variable": "y", "description_zh": "何时？",
        "position": "1", "options": "night | At night | 夜间\nday | | 白天"})
    assert asked.status_code == 303
    definition = client.get("/open311/v2/services/noise.json",
                            headers={**host(town), "Accept-Language": "en"}).json
    [question] = definition["attributes"]
    assert question["description"] == "何时？"
    assert question["values"] == [{"key": "night", "name": "At night"},
                                  {"key": "day", "name": "白天"}]


def test_a_required_pair_needs_one_language_and_long_values_are_refused(app, town, manager):
    response = post_form(manager, town, "/admin/service-requests/departments/new",
                         {"name": " ", "name_zh": "", "active": "y"})
    assert response.status_code == 422
    assert "Enter the department's name in at least one language." in response.get_data(
        as_text=True)
    response = post_form(manager, town, NEW_CATEGORY, {
        "code": "long", "name": "Long", "group_name_zh": "组" * 61, "days_to_close": "2",
        "department_id": "0"})
    assert response.status_code == 422
    assert "Enter at most 60 characters." in response.get_data(as_text=True)
    assert category(app, town, "long") is None
    response = post_form(manager, town, "/admin/service-requests/departments/new",
                         {"name": "Parks", "name_zh": "园林\x00处"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    response = post_form(manager, town, "/admin/service-requests/departments/new",
                         {"name": "Parks", "active": "y"})
    assert response.status_code == 303  # English alone is enough
    with tenant_context(town, app):
        assert db.session.execute(sa.select(ServiceDepartment.name, ServiceDepartment.name_zh)
                                  .where(ServiceDepartment.name == "Parks")).all() == [
            ("Parks", "")]
