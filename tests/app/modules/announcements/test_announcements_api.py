"""Announcements through the REST API, over HTTP against PostgreSQL: the published ones only,
newest first and paged, one by id, in the client's language, with no token; a draft or a
scheduled one is not found, nor is the module where the city has not enabled it."""
from datetime import UTC, datetime, timedelta

import pytest

from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tests.support.cities import configure_city, host


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("apinews", locale="en")
    configure_city(app, tenant, enable=["announcements"])
    return tenant


def add_announcement(app, tenant, title, published_at, **fields) -> int:
    with tenant_context(tenant, app):
        row = Announcement(title=title, title_zh=fields.pop("title_zh", ""),
                           body=f"About {title}.", published_at=published_at, **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def test_published_announcements_are_listed_newest_first_and_paged(app, town):
    now = datetime.now(UTC)
    older = add_announcement(app, town, "Older", now - timedelta(days=2))
    newer = add_announcement(app, town, "Newer", now - timedelta(days=1), title_zh="新的",
                             pinned=True)
    add_announcement(app, town, "Draft", None)
    add_announcement(app, town, "Tomorrow", now + timedelta(days=1))
    api = app.test_client()
    first = api.get("/api/v1/announcements?page_size=1", headers=host(town))
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "2" and 'rel="next"' in first.headers["Link"]
    [shown] = first.get_json()
    assert shown["id"] == newer and shown["title"] == "Newer" and shown["pinned"] is True
    second = api.get("/api/v1/announcements?page=2&page_size=1", headers=host(town))
    assert [row["id"] for row in second.get_json()] == [older]
    in_chinese = api.get(f"/api/v1/announcements/{newer}",
                         headers={**host(town), "Accept-Language": "zh-CN"})
    assert in_chinese.get_json()["title"] == "新的"
    assert in_chinese.get_json()["body"] == "About Newer."  # no Chinese body: the English one
    assert api.get(f"/api/v1/announcements/{newer}", headers={
        **host(town), "If-None-Match": in_chinese.headers["ETag"],
        "Accept-Language": "zh-CN"}).status_code == 304


def test_drafts_and_scheduled_ones_are_not_found(app, town):
    draft = add_announcement(app, town, "Draft", None)
    later = add_announcement(app, town, "Later", datetime.now(UTC) + timedelta(hours=1))
    api = app.test_client()
    for announcement_id in (draft, later, 2**62):
        answer = api.get(f"/api/v1/announcements/{announcement_id}",
                         headers={**host(town), "Accept-Language": "zh-CN"})
        assert answer.status_code == 404
        assert answer.content_type == "application/problem+json"
        assert answer.headers["Content-Language"] == "zh-Hans"


def test_a_city_without_the_module_answers_404(app, town):
    configure_city(app, town, disable=["announcements"])
    answer = app.test_client().get("/api/v1/announcements", headers=host(town))
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"
