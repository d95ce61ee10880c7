"""The checks themselves find what they are for, on a page made to fail each of them."""
from tests.browser.audit import PHONE, axe_violations, keyboard_gaps, overflow

FAULTY_PAGE = """<!doctype html><html lang="en"><head><title>Faulty</title></head><body><main>
<h1>Faulty</h1>
<form><input name="unlabelled"><button tabindex="-1">Send</button></form>
<div style="width: 900px">wide</div>
</main></body></html>"""


def test_the_checks_find_a_missing_label_an_overflow_and_an_unreachable_button(browser):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.set_content(FAULTY_PAGE)
        assert any(line.startswith("axe label ") for line in axe_violations(page))
        assert overflow(page) and "scrollWidth 9" in overflow(page)[0]
        assert keyboard_gaps(page) == ["keyboard: Tab never reaches submit 'Send'"]
    finally:
        context.close()
