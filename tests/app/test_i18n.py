"""Simplified Chinese ships complete: no message untranslated, no English left on a zh page."""
from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "app/translations/zh_Hans/LC_MESSAGES/messages.po"


def chinese_catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="zh_Hans")


def test_every_message_has_a_chinese_translation():
    catalog = chinese_catalog()
    untranslated = [m.id for m in catalog if m.id and (
        not all(m.string if isinstance(m.string, tuple) else (m.string,)) or m.fuzzy)]
    assert len(catalog) > 20 and untranslated == []


def english_sentences():
    for message in chinese_catalog():
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            if text and " " in text:  # whole sentences: single words could occur by chance
                yield text.split("%(")[0].strip()


def test_chinese_pages_show_no_english_sentences(client, cities):
    pages = [("platform.test", "/"), ("alpha.test", "/"), ("unknown.test", "/")]
    for host, path in pages:
        body = client.get(path, headers={"Host": host, "Accept-Language": "zh-CN"}).get_data(
            as_text=True)
        assert 'lang="zh-Hans"' in body
        leftovers = [text for text in english_sentences() if text and text in body]
        assert leftovers == [], (host, leftovers)
