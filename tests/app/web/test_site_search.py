"""Site search (/search) over HTTP against PostgreSQL: the city's enabled services, the
service pages' introductions and its published announcements, in the page's language; never a
disabled module, a draft or another city's announcement; the text matched literally, and
hostile input refused or harmless."""
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tests.support.cities import configure_city, host

CHINESE = {"Accept-Language": "zh-CN"}
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("findme", locale="en")
    configure_city(app, tenant, enable=["announcements", "passports"])
    return tenant


def announce(app, tenant, title, body="", title_zh="", body_zh="", published=True) -> int:
    when = datetime.now(UTC) - timedelta(minutes=1) if published else None
    with tenant_context(tenant, app):
        row = Announcement(title=title, title_zh=title_zh, body=body, body_zh=body_zh,
                           published_at=when)
        db.session.add(row)
        db.session.commit()
        return row.id


def search(client, tenant, text, language=ENGLISH, **args):
    return client.get("/search", query_string={"q": text, **args},
                      headers={**host(tenant), **language})


def titles(response) -> list[str]:
    """The titles of the hits on a results page, in order."""
    return re.findall(r'<a class="search-hit" href="[^"]*">([^<]*)</a>',
                      response.get_data(as_text=True))


def test_an_announcement_is_found_by_a_chinese_substring_and_by_an_english_word(
        app, client, town):
    found = announce(app, town, "Library closed on Monday", body="For maintenance.",
                     title_zh="周一图书馆闭馆", body_zh="设备维护。")
    announce(app, town, "Swimming pool opens", title_zh="游泳池开放")
    chinese = search(client, town, "图书馆", CHINESE)
    assert chinese.status_code == 200
    assert titles(chinese) == ["周一图书馆闭馆"]  # shown in the page's language
    assert f'href="/announcements/{found}"' in chinese.get_data(as_text=True)
    assert titles(search(client, town, "維護", CHINESE)) == []  # traditional: no match
    assert titles(search(client, town, "维护", CHINESE)) == ["周一图书馆闭馆"]  # a body
    assert titles(search(client, town, "LIBRARY")) == ["Library closed on Monday"]
    assert titles(search(client, town, "maintenance")) == ["Library closed on Monday"]


def test_services_and_introductions_are_found_in_the_pages_language(app, client, town):
    english = search(client, town, "passport")
    page = english.get_data(as_text=True)
    assert 'id="services-heading"' in page and 'id="help-heading"' in page
    assert "Passport renewal" in titles(english)
    assert 'href="/services/passports/"' in page
    chinese = search(client, town, "护照", CHINESE)
    assert "护照换发" in titles(chinese)
    introduction = search(client, town, "upload a photo").get_data(as_text=True)
    assert 'id="help-heading"' in introduction and 'id="services-heading"' not in introduction


def test_a_disabled_modules_service_is_never_found(app, client, town):
    assert titles(search(client, town, "hospital")) == []
    assert titles(search(client, town, "fine")) == []
    configure_city(app, town, enable=["appointments"])
    assert titles(search(client, town, "appointment")) == ["Hospital appointments"]
    # a service and its page's introduction ("Choose a hospital, …")
    assert titles(search(client, town, "hospital")) == ["Hospital appointments"] * 2
    configure_city(app, town, disable=["appointments", "announcements"])
    announce(app, town, "Hospital car park closed")
    page = search(client, town, "hospital")
    assert page.status_code == 200 and titles(page) == []
    assert "Nothing found" in page.get_data(as_text=True)


def test_drafts_and_another_citys_announcements_are_not_found(app, client, town, make_city):
    elsewhere = make_city("elsewhere", locale="en")
    configure_city(app, elsewhere, enable=["announcements"])
    announce(app, elsewhere, "Marathon on Sunday")
    announce(app, town, "Marathon draft", published=False)
    assert titles(search(client, town, "marathon")) == []
    assert titles(search(client, elsewhere, "marathon")) == ["Marathon on Sunday"]


def test_percent_and_underscore_are_literal(app, client, town):
    announce(app, town, "Fares down 50% from May")
    announce(app, town, "Fares down 50 from May")
    announce(app, town, "file_name rules")
    announce(app, town, "filename rules")
    assert titles(search(client, town, "50%")) == ["Fares down 50% from May"]
    assert titles(search(client, town, "%")) == ["Fares down 50% from May"]
    assert titles(search(client, town, "file_")) == ["file_name rules"]
    assert titles(search(client, town, "\\")) == []


def test_results_are_paged(app, client, town):
    for number in range(12):
        announce(app, town, f"Roadworks notice {number:02}")
    first = search(client, town, "roadworks")
    assert len(titles(first)) == 10 and 'rel="next"' in first.get_data(as_text=True)
    second = search(client, town, "roadworks", page=2)
    assert len(titles(second)) == 2 and 'rel="prev"' in second.get_data(as_text=True)
    assert set(titles(first)).isdisjoint(titles(second))


def test_an_empty_search_shows_the_empty_search_page(app, client, town):
    for text in ("", "   "):
        page = search(client, town, text)
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert 'role="search"' in body and "Results for" not in body and titles(page) == []
    assert client.get("/search", headers=host(town)).status_code == 200


@pytest.mark.parametrize("text", ["x" * 201, "图" * 1000, "%_" * 5000])
def test_a_long_search_is_refused_with_a_message_and_no_server_error(app, client, town, text):
    page = search(client, town, text)
    assert page.status_code == 400
    assert "at most 200 characters" in page.get_data(as_text=True)


def test_a_nul_character_is_refused(app, client, town):
    assert search(client, town, "a\x00b").status_code == 400


def test_every_city_page_has_a_labelled_search_box(app, client, town):
    page = client.get("/", headers=host(town)).get_data(as_text=True)
    assert re.search(r'<form class="site-search" role="search"[^>]*action="/search"', page)
    assert '<label class="visually-hidden" for="site-search-q">' in page
    chinese = client.get("/", headers={**host(town), **CHINESE}).get_data(as_text=True)
    assert "站内搜索" in chinese
