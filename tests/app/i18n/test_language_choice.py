"""Which language a city's page is in: a first visit follows the browser's Accept-Language among
the city's languages (the city's default when none matches); a new account keeps the language
its citizen registered in; Flask-Login's "sign in first" message is in the page's language."""
import sqlalchemy as sa

from app.accounts.models import User
from tenants.context import tenant_context
from tenants.db import db
from tests.support.cities import CONSENT, PASSWORD, host, post_form


def page_lang(client, tenant, path="/", **headers) -> str:
    body = client.get(path, headers={**host(tenant), **headers}).get_data(as_text=True)
    return body.split('<html lang="', 1)[1].split('"', 1)[0]


def test_a_first_visit_follows_the_browser_among_the_city_s_languages(client, make_city):
    chinese_city = make_city("acc")  # Chinese by default, both languages offered
    assert page_lang(client, chinese_city, **{"Accept-Language": "en-GB,en;q=0.9"}) == "en"
    assert page_lang(client, chinese_city, **{"Accept-Language": "zh-CN,zh;q=0.9"}) == "zh-Hans"
    # no language of the city's: its default
    assert page_lang(client, chinese_city, **{"Accept-Language": "fr-FR,de;q=0.5"}) == "zh-Hans"
    assert page_lang(client, chinese_city) == "zh-Hans"
    english_city = make_city("acc", locale="en")
    assert page_lang(client, english_city, **{"Accept-Language": "zh-CN"}) == "zh-Hans"
    assert page_lang(client, english_city, **{"Accept-Language": "ja"}) == "en"


def test_the_switcher_wins_over_the_browser(client, make_city):
    city = make_city("acc")
    client.get("/lang/zh_Hans?next=/", headers=host(city))
    assert page_lang(client, city, **{"Accept-Language": "en"}) == "zh-Hans"


def test_a_new_account_keeps_the_language_its_citizen_used(app, client, make_city):
    city = make_city("acc")  # Chinese by default
    client.get("/lang/en?next=/", headers=host(city))
    response = post_form(client, city, "/account/register", {
        "email": "anna@example.com", "password": PASSWORD, "confirm": PASSWORD,
        **CONSENT})
    assert response.status_code == 200
    with tenant_context(city, app):
        assert db.session.scalar(sa.select(User.locale).where(
            User.email == "anna@example.com")) == "en"


def test_sign_in_first_is_said_in_the_page_s_language(client, make_city):
    city = make_city("acc")
    response = client.get("/account/", headers=host(city))
    assert response.status_code == 302 and "/account/login" in response.location
    page = client.get(response.location, headers=host(city)).get_data(as_text=True)
    assert "请先登录" in page and "Please log in" not in page
