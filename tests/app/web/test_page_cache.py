"""Whole anonymous pages from the city cache (app/web/page_cache.py): rendered once per city,
path and language; a change committed anywhere reaches them; nothing tied to one visitor (a
session, a CSRF token, a query string) is kept or served from it."""
import uuid

import pytest
from flask import render_template_string, template_rendered

from app.modules import configure
from app.modules.announcements.models import Announcement
from app.modules.appointments.models import Department, Hospital
from app.web.page_cache import anonymous_page
from tenants.context import tenant_context
from tenants.db import db
from tests.support.apps import another_app, app_config


@pytest.fixture()
def city(app, make_city):
    town = make_city("pages", locale="en")
    with tenant_context(town, app):
        configure(enable=("announcements",))
        db.session.commit()
    return town


@pytest.fixture()
def served(database_url, outbox_dir):
    """An app (city cache on, as in production) with a form page behind the decorator, and
    the list of templates it renders."""
    with another_app(app_config(database_url, outbox_dir)) as app:
        app.add_url_rule("/test-form", "test_form", anonymous_page(
            lambda: render_template_string("<form>{{ csrf_token() }}</form>")))
        rendered = []
        template_rendered.connect(lambda _app, template, context, **extra: rendered.append(
            template.name), app, weak=False)
        cache = app.extensions["city_cache"]
        cache.version("-")  # starts the listener, whose start drops every entry: wait for it
        assert cache.listening.wait(10)
        yield app, rendered


def _get(client, path, host, **headers):
    return client.get(path, headers={"Host": host, **headers})


def _shows_soon(reader, client, path, host, text) -> bool:
    """Whether the page shows `text` within moments (a notification's latency)."""
    for _ in range(100):
        if text in _get(client, path, host).get_data(as_text=True):
            return True
        reader.extensions["city_cache"]._closed.wait(0.1)
    return False


def test_an_anonymous_page_is_rendered_once_and_changes_reach_it(served, city, app):
    reader, rendered = served
    host, client = city.domains[0], reader.test_client(use_cookies=False)
    first = _get(client, "/announcements/", host)
    rendered.clear()
    again = _get(client, "/announcements/", host)
    assert rendered == [] and again.get_data() == first.get_data()
    assert {"Cookie", "Accept-Language"} <= set(again.vary)
    title = f"Road works {uuid.uuid4().hex[:6]}"
    with tenant_context(city, app):  # another process's app commits the change
        db.session.add(Announcement(title=title, title_zh="施工", body="x",
                                    published_at=db.func.now()))
        db.session.commit()
    assert _shows_soon(reader, client, "/announcements/", host, title)


def test_a_hospitals_page_is_kept_until_one_of_its_departments_changes(served, city, app):
    reader, rendered = served
    with tenant_context(city, app):
        configure(enable=("announcements", "appointments"))
        hospital = Hospital(name="North Hospital", name_zh="北院")
        db.session.add_all([hospital, Department(hospital=hospital, name="Cardiology")])
        db.session.commit()
        path = f"/services/appointments/hospitals/{hospital.id}"
    host, client = city.domains[0], reader.test_client(use_cookies=False)
    assert _shows_soon(reader, client, path, host, "Cardiology")
    rendered.clear()
    assert "Cardiology" in _get(client, path, host).get_data(as_text=True)
    assert rendered == []
    with tenant_context(city, app):
        db.session.add(Department(hospital_id=hospital.id, name="Dermatology"))
        db.session.commit()
    assert _shows_soon(reader, client, path, host, "Dermatology")


def test_each_language_has_its_own_page(served, city):
    reader, _rendered = served
    host, client = city.domains[0], reader.test_client(use_cookies=False)
    english = _get(client, "/", host, **{"Accept-Language": "en"}).get_data(as_text=True)
    chinese = _get(client, "/", host, **{"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="zh-Hans"' in chinese
    assert _get(client, "/", host, **{"Accept-Language": "en"}).get_data(as_text=True) == english


def test_nothing_of_one_visitor_is_kept_or_served_from_the_cache(served, city):
    reader, rendered = served
    host, client = city.domains[0], reader.test_client(use_cookies=False)
    for _ in range(2):  # a CSRF token writes the session: never kept
        assert b"<form>" in _get(client, "/test-form", host).get_data()
    assert len(rendered) == 2
    _get(client, "/", host)
    rendered.clear()
    _get(client, "/", host, Cookie="session=anything")  # a visitor with a session
    _get(client, "/?utm=x", host)  # a query string
    _get(client, "/", host, Authorization="Bearer token")
    assert len(rendered) == 3
