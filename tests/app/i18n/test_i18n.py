"""Simplified Chinese ships complete: every message of the source has a Chinese translation, and
no page of the citizen site shows English on a Chinese page (nor Chinese on an English one).

The pages are walked in both languages, signed out and signed in: the home page, registration,
sign-in, forgotten password, an error page and "My account"."""
import re
import uuid
from functools import lru_cache
from html.parser import HTMLParser

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from app.accounts import hash_password
from app.accounts.models import User
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support import ROOT
from tests.support.accounts import consented
from tests.support.cities import PASSWORD

CATALOG = ROOT / "app/translations/zh_Hans/LC_MESSAGES/messages.po"


def chinese_catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="zh_Hans")


@lru_cache(maxsize=1)
def source_messages() -> frozenset[str]:
    """Every msgid of the source, extracted as `make extract-messages` does (config/babel.cfg,
    keyword _l too), templates parsed with the extensions the app loads."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options_map = {"**/templates/**.html": {"extensions": "jinja2.ext.do", "silent": "false"}}
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    ids = set()
    for folder in ("app", "tenants"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map, options_map, keywords=keywords):
            for text in (message if isinstance(message, tuple) else (message,)):
                if text:
                    ids.add(text)
    return frozenset(ids)


def test_every_message_has_a_chinese_translation():
    catalog = chinese_catalog()
    untranslated = [m.id for m in catalog if m.id and (
        not all(m.string if isinstance(m.string, tuple) else (m.string,)) or m.fuzzy)]
    assert len(catalog) > 20 and untranslated == []


def test_no_message_of_the_source_is_missing_from_the_chinese_catalogue():
    known = set()
    for message in chinese_catalog():
        if message.id and not message.fuzzy and all(
                message.string if isinstance(message.string, tuple) else (message.string,)):
            known.update(message.id if isinstance(message.id, tuple) else (message.id,))
    missing = sorted(source_messages() - known)
    assert len(source_messages()) > 50 and missing == []


# -- what a page shows ---------------------------------------------------------------------

SHOWN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder"}


class ShownText(HTMLParser):
    """The text a person sees or hears: text nodes (not style or script), labelling attributes,
    the value of buttons. Elements in another language (lang=…) are kept apart."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.page_lang = page_lang
        self.stack: list[tuple[str, str]] = []  # (tag, lang)
        self.texts: list[str] = []
        self.other_language: list[str] = []
        self.skip = 0

    def lang(self) -> str:
        return self.stack[-1][1] if self.stack else self.page_lang

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang") or self.lang()
        if tag in ("style", "script"):
            self.skip += 1
        for name in SHOWN_ATTRIBUTES & set(attrs):
            self.add(attrs[name], lang)
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.add(attrs["value"], lang)
        if tag not in ("meta", "link", "input", "br", "img", "hr", "source", "use"):
            self.stack.append((tag, lang))

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip -= 1
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.skip:
            self.add(data, self.lang())

    def add(self, text, lang):
        text = " ".join(text.split())
        if text:
            (self.texts if lang == self.page_lang else self.other_language).append(text)


def shown(page: str, page_lang: str) -> ShownText:
    parser = ShownText(page_lang)
    parser.feed(page)
    return parser


ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ ,;:!?’'\-]+[A-Za-z][A-Za-z'’]*){2,}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def english_left_on(page: str) -> list[str]:
    """On a Chinese page: a message shown untranslated (whole, or the English start of a
    sentence with placeholders), or three English words in a row (a string never marked for
    translation)."""
    text = shown(page, "zh-Hans").texts
    joined = "\n".join(text)
    found = [t for t in text if t in source_messages()]
    for message in source_messages():
        start = message.split("%(")[0].strip()
        if " " in start and start in joined:
            found.append(start)
    found += [run for t in text for run in ENGLISH_RUN.findall(t)]
    return sorted(set(found))


def chinese_left_on(page: str) -> list[str]:
    """On an English page: Chinese outside elements marked lang="zh-Hans" (the switcher)."""
    return [t for t in shown(page, "en").texts if CJK.search(t)]


# -- walking the citizen site --------------------------------------------------------------

SIGNED_OUT_PAGES = [("/", 200), ("/account/register", 200), ("/account/login", 200),
                    ("/account/password/forgot", 200), ("/no-such-page", 404)]
SIGNED_IN_PAGES = [("/", 200), ("/account/", 200), ("/no-such-page", 404)]


@pytest.fixture()
def citizen(app, cities):
    """An account in alpha (Chinese by default, offering both languages)."""
    email = f"walker-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_context(cities["alpha"], app):
        db.session.add(User(email=email, display_name="李雷", locale="zh_Hans",
                            password_hash=hash_password(PASSWORD), **consented()))
        db.session.commit()
    return email


ALPHA = {"Host": "alpha.test"}


def sign_in(client, email):
    token = form_token(client.get("/account/login", headers=ALPHA))
    response = client.post("/account/login", headers=ALPHA, data={
        "csrf_token": token, "identifier": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get("/account/", headers=ALPHA).status_code == 200


def walk(client, language: str, pages) -> dict[str, str]:
    response = client.get(f"/lang/{language}?next=/", headers=ALPHA)
    assert response.status_code == 302
    bodies = {}
    for path, status in pages:
        response = client.get(path, headers=ALPHA)
        assert response.status_code == status, path
        body = response.get_data(as_text=True)
        assert f'<html lang="{language.replace("_", "-")}">' in body, path
        bodies[path] = body
    return bodies


def test_the_walk_sees_every_kind_of_page(client, cities, citizen):
    """The walk itself works: it reaches the pages it names, in both languages."""
    english = walk(client, "en", SIGNED_OUT_PAGES)
    assert "Create an account" in english["/account/register"]
    assert "Page not found" in english["/no-such-page"]
    sign_in(client, citizen)
    chinese = walk(client, "zh_Hans", SIGNED_IN_PAGES)
    assert "李雷" in chinese["/account/"] and "阿尔法市" in chinese["/"]


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_chinese_pages_show_no_english(client, cities, citizen, signed_in):
    if signed_in:
        sign_in(client, citizen)
    pages = walk(client, "zh_Hans", SIGNED_IN_PAGES if signed_in else SIGNED_OUT_PAGES)
    leftovers = {path: english_left_on(body) for path, body in pages.items()}
    assert {path: found for path, found in leftovers.items() if found} == {}


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_english_pages_show_no_chinese(client, cities, citizen, signed_in):
    if signed_in:
        sign_in(client, citizen)
    pages = walk(client, "en", SIGNED_IN_PAGES if signed_in else SIGNED_OUT_PAGES)
    leftovers = {path: chinese_left_on(body) for path, body in pages.items()}
    leftovers["/account/"] = [t for t in leftovers.get("/account/", []) if t != "李雷"]
    assert {path: found for path, found in leftovers.items() if found} == {}


def test_the_platform_and_unknown_hosts_follow_the_browser(client, cities):
    for host in ("platform.test", "unknown.test"):
        body = client.get("/", headers={"Host": host, "Accept-Language": "zh-CN"}).get_data(
            as_text=True)
        assert 'lang="zh-Hans"' in body
        assert english_left_on(body) == [], host
        body = client.get("/", headers={"Host": host, "Accept-Language": "en"}).get_data(
            as_text=True)
        assert 'lang="en"' in body and chinese_left_on(body) == [], host
