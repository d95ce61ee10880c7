"""Staff write, schedule, publish, unpublish and pin announcements; citizens see the result."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_staff
from tests.support.cities import configure_city, host, post_form


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("news", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["announcements"])
    return tenant


@pytest.fixture()
def writer(app, client, town):
    return signed_in_staff(app, client, town, "writer@example.com", role="clerk",
                           modules=["announcements"])


def rows(app, town) -> list[Announcement]:
    with tenant_context(town, app):
        return db.session.scalars(sa.select(Announcement).order_by(Announcement.id)).all()


def audit_actions(app, town) -> list[str]:
    with tenant_context(town, app):
        return db.session.scalars(sa.text(
            "SELECT action FROM audit_log WHERE action LIKE 'announcements.%' ORDER BY id")).all()


def test_a_clerk_of_the_module_writes_a_draft_then_publishes_it(app, client, town, writer):
    response = post_form(client, town, "/admin/announcements/new", {
        "title": "Library closed on Monday", "title_zh": "周一图书馆闭馆",
        "body": "For maintenance.", "body_zh": "设备维护。"})
    assert response.status_code == 302
    (draft,) = rows(app, town)
    assert draft.published_at is None
    assert client.get(f"/announcements/{draft.id}", headers=host(town)).status_code == 404
    token = form_token(client.get("/admin/announcements/", headers=host(town)))
    client.post(f"/admin/announcements/{draft.id}/publish", headers=host(town),
                data={"csrf_token": token})
    assert "Library closed" in client.get("/announcements/", headers=host(town)).get_data(
        as_text=True)
    client.post(f"/admin/announcements/{draft.id}/unpublish", headers=host(town),
                data={"csrf_token": token})
    assert client.get(f"/announcements/{draft.id}", headers=host(town)).status_code == 404
    assert audit_actions(app, town) == ["announcements.create", "announcements.publish",
                                        "announcements.unpublish"]


def test_a_scheduled_time_is_read_in_the_citys_time_zone(app, client, town, writer):
    later = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=2)).replace(
        second=0, microsecond=0)
    post_form(client, town, "/admin/announcements/new", {
        "title": "Scheduled", "body": "Soon.", "publish_at": later.strftime("%Y-%m-%dT%H:%M")})
    (scheduled,) = rows(app, town)
    assert scheduled.published_at == later.astimezone(UTC)
    assert "Scheduled" not in client.get("/announcements/", headers=host(town)).get_data(
        as_text=True)


def test_pinning_one_unpins_the_other(app, client, town, writer):
    now = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=5)
    for title in ("First banner", "Second banner"):
        post_form(client, town, "/admin/announcements/new", {
            "title": title, "body": "x", "pinned": "y",
            "publish_at": now.strftime("%Y-%m-%dT%H:%M")})
    assert [(a.title, a.pinned) for a in rows(app, town)] == [
        ("First banner", False), ("Second banner", True)]
    assert "Second banner" in client.get("/", headers=host(town)).get_data(as_text=True)


def test_bad_input_keeps_the_values_and_saves_nothing(app, client, town, writer):
    response = post_form(client, town, "/admin/announcements/new",
                         {"title": "", "title_zh": "", "body": "Only a body"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give a title in at least one language." in page and "Only a body" in page
    assert rows(app, town) == []


def test_one_language_is_enough_and_the_other_page_shows_it(app, client, town, writer):
    form = client.get("/admin/announcements/new", headers=host(town)).get_data(as_text=True)
    text_pair = form[form.index("<legend>Text</legend>"):]
    assert text_pair.index('name="body_zh"') < text_pair.index('name="body"')
    assert "Separate paragraphs with an empty line." in text_pair  # the pair's hint, once
    assert form.count("Separate paragraphs with an empty line.") == 1
    response = post_form(client, town, "/admin/announcements/new", {
        "title_zh": "周一图书馆闭馆", "body_zh": "设备维护。", "publish_at": "2020-01-01T08:00"})
    assert response.status_code == 302
    (notice,) = rows(app, town)
    assert (notice.title, notice.title_zh, notice.body, notice.body_zh) == (
        "", "周一图书馆闭馆", "", "设备维护。")
    page = client.get(f"/announcements/{notice.id}", headers=host(town)).get_data(as_text=True)
    assert 'lang="en"' in page and "周一图书馆闭馆" in page and "设备维护。" in page
    listed = client.get("/admin/announcements/", headers=host(town)).get_data(as_text=True)
    assert '<span lang="zh-Hans">周一图书馆闭馆</span> / <span lang="en">—</span>' in listed


def test_an_over_long_text_is_refused_with_a_message(app, client, town, writer):
    response = post_form(client, town, "/admin/announcements/new",
                         {"title": "T" * 201, "body": "Body"})
    assert response.status_code == 422
    assert "Enter at most 200 characters." in response.get_data(as_text=True)
    assert rows(app, town) == []


def test_staff_without_the_module_and_citizens_are_refused(app, client, town, make_city):
    signed_in_staff(app, client, town, "other@example.com", role="clerk", modules=["parking"])
    assert client.get("/admin/announcements/", headers=host(town)).status_code == 403
    assert client.get("/admin/announcements/new", headers=host(town)).status_code == 403


def test_the_admin_pages_answer_404_where_the_module_is_off(app, client, make_city):
    town = make_city("news-off", locale="en")
    signed_in_staff(app, client, town, "boss@example.com", role="admin")
    assert client.get("/admin/announcements/", headers=host(town)).status_code == 404
