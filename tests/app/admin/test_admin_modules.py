"""The console's module pages: /admin/modules lists every module, /admin/modules/<key> enables,
disables and configures one with a form generated from its marshmallow schema."""
import re
from decimal import Decimal
from unittest import mock

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DecimalField, EmailField, IntegerField, SelectField, StringField

from app.admin.modules import settings_form_class
from app.audit.models import AuditEntry
from app.modules import ModuleError, configure, is_enabled, settings_of
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, host, post_form

PAGE = "/admin/modules/announcements"


@pytest.fixture()
def town(make_city):
    return make_city("admmod", locale="en")


def state(app, town) -> tuple[bool, dict, int]:
    """Whether announcements is enabled, its settings, and how many rows `modules` has."""
    with tenant_context(town, app):
        rows = db.session.scalar(sa.text("SELECT count(*) FROM modules"))
        return is_enabled("announcements"), settings_of("announcements"), rows


def error_of(body: str, field: str) -> str | None:
    found = re.search(rf'<p class="error-message" id="{field}-error">([^<]*)</p>', body)
    return found and found.group(1)


def test_the_list_shows_every_module_with_its_state_and_a_link(app, client, town):
    signed_in_staff(app, client, town)
    home = client.get("/admin/", headers=host(town)).get_data(as_text=True)
    assert 'href="/admin/modules"' in home
    response = client.get("/admin/modules", headers=host(town))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Announcements" in body and "News and notices from the city." in body
    assert "Disabled" in body and f'href="{PAGE}"' in body
    assert client.get("/admin/modules/no-such-module", headers=host(town)).status_code == 404


def test_an_admin_enables_announcements_and_sets_per_page(app, client, town):
    member = signed_in_staff(app, client, town)
    page = client.get(PAGE, headers=host(town)).get_data(as_text=True)
    assert 'name="per_page"' in page and 'min="1"' in page and 'max="50"' in page
    assert "Announcements per page" in page and 'value="10"' in page
    assert client.get("/announcements/", headers=host(town)).status_code == 404

    response = post_form(client, town, PAGE, {"enabled": "y", "per_page": "20",
                                              "show_banner": "y"})
    assert response.status_code == 302 and response.location == PAGE
    assert "your changes are saved" in client.get(PAGE, headers=host(town)).get_data(
        as_text=True)
    assert state(app, town)[:2] == (True, {"per_page": 20, "show_banner": True})
    assert client.get("/announcements/", headers=host(town)).status_code == 200

    (entry,) = audit_entries(app, town, "module.configure")
    assert entry.target == "announcements"
    assert entry.actor == f"user:{member['user_id']}:boss@example.com"
    assert entry.before == {"enabled": False, "settings": {"per_page": 10, "show_banner": True}}
    assert entry.after == {"enabled": True, "settings": {"per_page": 20, "show_banner": True}}

    # an unchecked box is "off": disabling and hiding the banner, in one audited change
    assert post_form(client, town, PAGE, {"per_page": "20"}).status_code == 302
    assert state(app, town)[:2] == (False, {"per_page": 20, "show_banner": False})
    assert client.get("/announcements/", headers=host(town)).status_code == 404
    assert len(audit_entries(app, town, "module.configure")) == 2

    # saving the same values again changes nothing and writes no audit row
    assert post_form(client, town, PAGE, {"per_page": "20"}).status_code == 302
    assert len(audit_entries(app, town, "module.configure")) == 2


def test_an_invalid_value_is_refused_next_to_its_field_and_nothing_changes(app, client, town):
    signed_in_staff(app, client, town)
    response = post_form(client, town, PAGE, {"enabled": "y", "per_page": "500",
                                              "show_banner": "y"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(body, "per_page") == "Enter a number from 1 to 50."
    assert 'href="#per_page"' in body  # the summary links to the field
    assert 'value="500"' in body and re.search(r'<input[^>]*checked[^>]*id="enabled"', body)
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)
    assert audit_entries(app, town, "module.configure") == []

    not_a_number = post_form(client, town, PAGE, {"enabled": "y", "per_page": "many"})
    assert not_a_number.status_code == 422
    assert error_of(not_a_number.get_data(as_text=True), "per_page")
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)


def test_errors_of_configure_go_back_to_their_fields(app, client, town):
    signed_in_staff(app, client, town)
    refusal = ModuleError({"announcements.per_page": ["Too many for this city."],
                           "announcements._schema": ["Something else is wrong."]})
    with mock.patch("app.admin.modules.configure", side_effect=refusal):
        response = post_form(client, town, PAGE, {"enabled": "y", "per_page": "30"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(body, "per_page") == "Too many for this city."
    assert "Something else is wrong." in body and 'value="30"' in body
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)


def test_a_viewer_reads_the_page_and_gets_403_when_posting(app, client, town):
    signed_in_staff(app, client, town, "viewer@example.com", role="viewer")
    assert client.get("/admin/modules", headers=host(town)).status_code == 200
    page = client.get(PAGE, headers=host(town))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<form method=\"post\" action=\"/admin/modules" not in body
    assert re.search(r'id="per_page"[^>]*disabled|disabled[^>]*id="per_page"', body)
    response = post_form(client, town, PAGE, {"enabled": "y", "per_page": "20"},
                         page="/admin/modules")
    assert response.status_code == 403
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)


def test_module_managers_configure_only_their_modules(app, town):
    other, own = app.test_client(), app.test_client()
    signed_in_staff(app, other, town, "parking@example.com", role="module_manager",
                    modules=["parking"])
    assert other.get(PAGE, headers=host(town)).status_code == 200  # read-only
    response = post_form(other, town, PAGE, {"enabled": "y", "per_page": "20"},
                         page="/admin/modules")
    assert response.status_code == 403
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)

    signed_in_staff(app, own, town, "news@example.com", role="module_manager",
                    modules=["announcements"])
    assert post_form(own, town, PAGE, {"enabled": "y", "per_page": "5"}).status_code == 302
    assert state(app, town)[:2] == (True, {"per_page": 5, "show_banner": False})
    (entry,) = audit_entries(app, town, "module.configure")
    assert entry.actor.endswith(":news@example.com")


def test_a_csrf_token_is_required(app, client, town):
    signed_in_staff(app, client, town)
    response = client.post(PAGE, data={"enabled": "y", "per_page": "20"}, headers=host(town))
    assert response.status_code == 400
    forged = client.post(PAGE, data={"enabled": "y", "per_page": "20", "csrf_token": "x"},
                         headers=host(town))
    assert forged.status_code == 400
    assert state(app, town) == (False, {"per_page": 10, "show_banner": True}, 0)
    token = form_token(client.get(PAGE, headers=host(town)))
    assert client.post(PAGE, data={"enabled": "y", "per_page": "20", "csrf_token": token},
                       headers=host(town)).status_code == 302


def test_the_page_is_in_the_city_language(app, client, make_city):
    town = make_city("admmod-zh")  # Chinese by default
    signed_in_staff(app, client, town)
    chinese = client.get(PAGE, headers=host(town)).get_data(as_text=True)
    assert "每页公告数" in chinese and "Announcements per page" not in chinese
    client.get("/lang/en", headers=host(town))
    assert "Announcements per page" in client.get(PAGE, headers=host(town)).get_data(
        as_text=True)


class Everything(Schema):
    count = fields.Integer(load_default=3, validate=validate.Range(min=0, max=9),
                           metadata={"label": _l("How many")})
    active = fields.Boolean(load_default=False)
    title = fields.String(load_default="", validate=validate.Length(max=40))
    contact = fields.Email(load_default="desk@example.com")
    fee = fields.Decimal(load_default=Decimal("1.5"), validate=validate.Range(min=0))
    ratio = fields.Float(load_default=0.5)
    colour = fields.String(load_default="red", validate=validate.OneOf(
        ["red", "green"], labels=[_l("Red"), _l("Green")]))
    tags = fields.List(fields.String(), load_default=list)  # not editable in the console


def test_the_form_is_generated_from_the_schema(app):
    form_class = settings_form_class(Everything)
    assert form_class.setting_names == ("count", "active", "title", "contact", "fee", "ratio",
                                        "colour")
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict({
            "count": "12", "title": "x" * 41, "contact": "nope", "fee": "-1",
            "ratio": "0.25", "colour": "blue"}), meta={"csrf": False})
        assert isinstance(form.count, IntegerField) and isinstance(form.active, BooleanField)
        assert isinstance(form.title, StringField) and isinstance(form.contact, EmailField)
        assert isinstance(form.fee, DecimalField) and isinstance(form.ratio, DecimalField)
        assert isinstance(form.colour, SelectField)
        assert form.count.label.text == "How many" and form.active.label.text == "active"
        assert form.count.render_kw["min"] == 0 and form.count.render_kw["max"] == 9
        assert form.title.render_kw["maxlength"] == 40
        assert [str(choice.label) for choice in form.colour.choices] == ["Red", "Green"]
        assert not form.validate()
        assert set(form.errors) == {"count", "title", "contact", "fee", "colour"}

        good = form_class(formdata=MultiDict({
            "count": "4", "active": "y", "title": "Hello", "contact": "a@example.com",
            "fee": "2.25", "ratio": "0.25", "colour": "green"}), meta={"csrf": False})
        assert good.validate(), good.errors
        values = good.settings_values()
        assert values == {"count": 4, "active": True, "title": "Hello",
                          "contact": "a@example.com", "fee": "2.25", "ratio": 0.25,
                          "colour": "green"}
        assert Everything().load(values)["fee"] == Decimal("2.25")


def test_configure_is_all_or_nothing_for_the_console(app, town):
    """The console relies on configure refusing everything when one value is bad."""
    with tenant_context(town, app):
        with pytest.raises(ModuleError) as refused:
            configure(enable=["announcements"], values={"announcements": {"per_page": 0}})
        assert "announcements.per_page" in refused.value.errors
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
