"""City-entered texts kept in both languages: the page's language first, the other where one is
missing (app.web.bilingual.in_language, and the `<name>_for` methods `bilingual` makes)."""
from types import SimpleNamespace

from flask_babel import force_locale

from app.web.bilingual import bilingual, in_language


class Office(SimpleNamespace):
    name_for = bilingual("name")


def test_the_page_language_is_taken_and_the_other_fills_a_gap():
    assert in_language("Civic Centre", "市民中心", "zh_Hans") == "市民中心"
    assert in_language("Civic Centre", "市民中心", "en") == "Civic Centre"
    assert in_language("", "市民中心", "en") == "市民中心"
    assert in_language("Civic Centre", "", "zh_Hans") == "Civic Centre"
    assert in_language("", "", "en") == ""


def test_a_model_method_reads_its_pair_of_columns(app):
    office = Office(name="Civic Centre", name_zh="市民中心")
    assert office.name_for("zh_Hans") == "市民中心"
    assert Office.name_for.__name__ == "name_for"
    for locale, expected in (("en", "Civic Centre"), ("zh_Hans", "市民中心")):
        with app.test_request_context(), force_locale(locale):
            assert office.name_for() == expected  # no locale given: the page's
