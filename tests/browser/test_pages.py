"""Every citizen and console page of the demo cities and of the platform console, in both
languages, on a phone (375 px) and a desktop (1280 px) screen: no axe-core WCAG 2.2 AA
violation, nothing wider than the screen, every form's fields and buttons reached by Tab.

The pages are found by following the links of each site from its home, account and console
pages, signed in as the site's admin (who is a citizen of the city too), one page per view and
kind of view (a second announcement is the same page as the first); the sign-in pages are seen
signed out. Tab's order doesn't depend on the language: it is checked in the first one only.
The journeys (test_journeys.py, run first) leave a booking, an application and
payments behind, so their pages are found too. The two pages the admin can't reach (the
consent question, closing one's account) are checked signed in as a citizen who is not on the
staff. Screenshots: instance/screenshots/."""
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.accounts import hash_password
from app.accounts.models import User
from tenants.context import tenant_context
from tenants.db import db
from tests.browser.audit import (
    DESKTOP,
    PHONE,
    axe_violations,
    keyboard_gaps,
    overflow,
    screenshot,
)
from tests.browser.conftest import DEMO_SLUGS, PLATFORM_HOST
from tests.support.cities import PASSWORD

SITES = (*DEMO_SLUGS, "platform")
LANGUAGES = ("zh_Hans", "en")
MAX_PAGES = 150  # per site: a bound on the crawl, far above what the demo has
SIGNED_OUT_PATHS = {
    "city": ("/", "/account/login", "/account/register", "/account/password/forgot",
             "/account/password/reset-by-code", "/admin/login"),
    "platform": ("/", "/console/login"),
}
# Site search is a form, not a link: its results page is a start (a letter most pages hold).
START_PATHS = {"city": ("/", "/account/", "/admin/", "/search?q=a"), "platform": ("/console/",)}
LANGUAGE_PATH = {"city": "/lang/{code}", "platform": "/language/{code}"}
# Links the crawl doesn't follow: the language switch (the context's language is set once),
# files (CSV exports, feeds, uploaded documents and photos, archives), the Open311 API.
NOT_PAGES = {"citizen.set_language", "platform.set_language", "announcements.feed",
             "passports.document", "admin.passports.document", "service_requests.photo",
             "admin.service_requests.photo", "platform.export_download", "static"}
NOT_PAGE_PREFIXES = ("open311.", "branding.", "health.")
NOT_PAGE_SUFFIXES = (".csv", ".atom", ".json", ".xml", ".css")
# Arguments that name one row of many: pages that differ only in these are the same page.
ROW_ARGUMENTS = {"reference", "token", "tracking_number", "slug", "stored_name"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _kind(site: str) -> str:
    return "platform" if site == "platform" else "city"


def _host(live_site, site: str) -> str:
    return PLATFORM_HOST if site == "platform" else live_site.cities[site].domains[0]


def page_key(live_site, host: str, path: str, query: str):
    """What makes two URLs the same page: the view, its arguments other than row ids, and the
    names of the query's parameters. None for what is not a page of the site."""
    rules = live_site.app.url_map.rules_for(host).bind(host)
    try:
        endpoint, arguments = rules.match(path, method="GET")
    except RequestRedirect:
        return None
    except HTTPException:
        return None
    if (endpoint in NOT_PAGES or endpoint.startswith(NOT_PAGE_PREFIXES)
            or path.endswith(NOT_PAGE_SUFFIXES)):
        return None
    kept = tuple(sorted((name, value) for name, value in arguments.items()
                        if name not in ROW_ARGUMENTS and not isinstance(value, int)))
    return endpoint, kept, tuple(sorted({name for name, _ in parse_qsl(query)}))


def crawl(live_site, site: str, start_paths, signed_in_cookies) -> tuple[list[str], list[str]]:
    """The site's pages reachable by links from `start_paths` (one URL per page_key), signed
    in as its admin, and the links that answered with a server error. Read with the app's test
    client and the browser's cookies: quicker than rendering each page once more."""
    host = _host(live_site, site)
    origin = live_site.url(host, "")
    client = live_site.app.test_client()
    for cookie in signed_in_cookies:
        client.set_cookie(cookie["name"], cookie["value"], domain=cookie["domain"],
                          path=cookie["path"])
    queue = [origin + path for path in start_paths]
    seen_keys, pages, broken = set(), [], []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        key = page_key(live_site, host, parts.path, parts.query)
        if key is None or key in seen_keys:
            continue
        seen_keys.add(key)
        response = client.get(parts.path, query_string=parts.query,
                              headers={"Host": parts.netloc})
        if response.status_code >= 500:
            broken.append(f"{url}: {response.status_code}")
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages.append(url)
        links = _Links()
        links.feed(response.get_data(as_text=True))
        for href in links.hrefs:
            target = urljoin(url, href).split("#")[0]
            if target.startswith(origin + "/"):
                queue.append(target)
    return pages, broken


@pytest.fixture(scope="session")
def site_pages(live_site, signed_in):
    """site_pages(site) -> (signed-out pages, signed-in pages, broken links), found once."""
    found = {}

    def pages(site: str):
        if site not in found:
            kind = _kind(site)
            origin = live_site.url(_host(live_site, site), "")
            signed_out = [origin + path for path in SIGNED_OUT_PATHS[kind]]
            signed_in_pages, broken = crawl(live_site, site, START_PATHS[kind],
                                            signed_in(site)["cookies"])
            found[site] = (signed_out, signed_in_pages, broken)
        return found[site]

    return pages


def audit_page(page, url: str, name: str, check_keyboard: bool) -> list[str]:
    response = page.goto(url)
    if response is None or response.status != 200:
        return [f"answered {response.status if response else 'nothing'}"]
    problems = [*axe_violations(page), *overflow(page)]
    if check_keyboard:
        problems += keyboard_gaps(page)
    screenshot(page, name)
    return problems


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=lambda width: f"{width['width']}px")
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("site", SITES)
def test_every_page_passes_axe_fits_the_screen_and_works_with_the_keyboard(
        live_site, browser, signed_in, site_pages, site, language, width):
    signed_out, signed_in_pages, broken = site_pages(site)
    assert not broken, f"links answering with a server error: {broken}"
    origin = live_site.url(_host(live_site, site), "")
    problems, checked = [], 0
    for state, urls in ((None, signed_out), (signed_in(site), signed_in_pages)):
        context = browser.new_context(viewport=width, storage_state=state, bypass_csp=True)
        try:
            page = context.new_page()
            chosen = page.goto(origin + LANGUAGE_PATH[_kind(site)].format(code=language))
            if chosen.status == 404:
                pytest.skip(f"{site} does not offer {language}")
            for url in urls:
                path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query
                                             else "")
                name = f"{site}-{language}-{width['width']}-{path}"
                for problem in audit_page(page, url, name, check_keyboard=language == LANGUAGES[0]):
                    problems.append(f"{path} ({'signed in' if state else 'signed out'}): "
                                    f"{problem}")
                checked += 1
        finally:
            context.close()
    print(f"{site} {language} {width['width']}px: {checked} pages checked, "
          f"{len(problems)} problems")
    assert not problems, (f"{site} {language} {width['width']}px: {len(problems)} problems on "
                          f"{checked} pages:\n" + "\n".join(problems))


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=lambda width: f"{width['width']}px")
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_citizens_pages_the_admins_crawl_cannot_reach_pass_too(live_site, browser, language,
                                                                  width):
    """The consent question (asked of an account with no consent recorded, as a sign-in
    provider or an invitation makes one) and closing one's account (refused to staff, whom
    the crawl signs in as), for a citizen who is not on the staff."""
    slug = DEMO_SLUGS[0]
    email = f"citizen-{language.lower()}-{width['width']}@example.com"  # as stored: lower case
    with tenant_context(live_site.cities[slug], live_site.app):
        db.session.add(User(email=email, password_hash=hash_password(PASSWORD)))
        db.session.commit()
    context = browser.new_context(viewport=width, bypass_csp=True)
    problems = []
    try:
        page = context.new_page()
        chosen = page.goto(live_site.city_url(slug, LANGUAGE_PATH["city"].format(code=language)))
        if chosen.status == 404:
            pytest.skip(f"{slug} does not offer {language}")
        page.goto(live_site.city_url(slug, "/account/login"))
        page.locator("input[name=identifier]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("input[name=password]").press("Enter")
        page.wait_for_url("**/privacy/accept**")  # no consent recorded: asked first
        for path in ("/privacy/accept", "/account/close"):
            name = f"citizen-{slug}-{language}-{width['width']}-{path}"
            problems += [f"{path}: {problem}" for problem in audit_page(
                page, live_site.city_url(slug, path), name,
                check_keyboard=language == LANGUAGES[0])]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
