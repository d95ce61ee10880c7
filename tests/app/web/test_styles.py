"""What the style sheets do to forms, read from the sheets as served: no rule stretches the
checkboxes of a field (the utility bills' choices) to the column's width, and the console's
branding page keeps to a phone's width (its grid may shrink, its wide table scrolls alone)."""
import re

import pytest

from tests.support.accounts import signed_in_staff
from tests.support.cities import host


def rules(css: str) -> list[tuple[list[str], str]]:
    """(selectors, declarations) of every rule, comments dropped, top-level commas split."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector_text, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        selectors = re.split(r",(?![^()]*\))", selector_text)
        found.append(([" ".join(s.split()) for s in selectors], declarations))
    return found


def stretches_checkboxes_of_fields(selector: str) -> bool:
    """Whether `selector` reaches an <input type=checkbox> inside .field (a plain `.field input`
    or `.field-… input` does; one that excludes checkboxes does not)."""
    match = re.fullmatch(r"\.field(-\w+)? input(?P<rest>.*)", selector)
    return bool(match) and "checkbox" not in match["rest"] and ":focus" not in match["rest"]


def test_no_site_rule_stretches_the_checkboxes_of_a_field(client, cities):
    css = client.get("/static/css/site.css", headers={"Host": "alpha.test"}).get_data(
        as_text=True)
    stretching = [selector for selectors, declarations in rules(css)
                  if re.search(r"\bwidth:\s*100%", declarations)
                  for selector in selectors if stretches_checkboxes_of_fields(selector)]
    assert stretching == []
    # and checkboxes are styled on the citizen's site, not only in the console
    assert any(".checkbox input" in selectors for selectors, _ in rules(css))


@pytest.mark.parametrize("sheet", ["site.css", "admin.css", "console.css"])
def test_the_rule_finder_sees_the_sheets(client, cities, sheet):
    css = client.get(f"/static/css/{sheet}", headers={"Host": "alpha.test"}).get_data(
        as_text=True)
    assert len(rules(css)) > 10


def test_the_branding_page_keeps_to_a_phone_s_width(app, client, make_city):
    city = make_city("styles", locale="en")
    signed_in_staff(app, client, city)
    page = client.get("/admin/branding", headers=host(city)).get_data(as_text=True)
    # the contrast table (four columns) scrolls in its own region
    assert re.search(r'<div class="table-wrap"[^>]*>\s*<table class="contrast-table">', page)
    css = client.get("/static/css/console.css", headers=host(city)).get_data(as_text=True)
    layout = next(d for selectors, d in rules(css) if selectors == [".branding-layout"])
    # (the first rule: every width; wider screens get two columns later)
    # a grid's implicit column is as wide as its widest content; minmax(0, …) lets it shrink
    assert re.search(r"grid-template-columns:\s*minmax\(0,\s*1fr\)", layout)
