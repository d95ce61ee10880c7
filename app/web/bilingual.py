"""Texts a city enters in both languages: a pair of columns `<name>` (English) and `<name>_zh`
(Chinese), shown in the reader's language, else in the other one. The console edits each pair
side by side (app.web.forms.bilingual_pair, the `bilingual_field` macro)."""
from flask_babel import get_locale


def in_language(english: str, chinese: str, locale=None) -> str:
    """Text a city entered in both languages, in `locale` (the page's language by default):
    the other language's where that one is empty."""
    zh = str(locale or get_locale()).startswith("zh")
    return (chinese if zh else english) or english or chinese


def bilingual(name: str):
    """A model's method `<name>_for(locale=None)`: its column `<name>` (English) or
    `<name>_zh` (Chinese) as `in_language` picks — `name_for = bilingual("name")`."""
    def text_for(self, locale=None) -> str:
        return in_language(getattr(self, name), getattr(self, f"{name}_zh"), locale)
    text_for.__name__ = f"{name}_for"
    return text_for
