"""A citizen's three journeys through the demo cities, done by clicking and typing in Chromium
on a phone-sized screen: a hospital appointment, a passport application paid through the
sandbox, and a traffic fine paid through the sandbox. Each ends on the page that proves it
(the booking's reference, the submitted application, the paid fine's receipt)."""
import re

import pytest

from tests.browser.audit import PHONE, screenshot
from tests.support.cities import configure_city
from tests.support.images import png

VALID_ID_NUMBER = "11010519491231002X"  # the example in the forms' own hints (checksum valid)


@pytest.fixture()
def phone_page(browser):
    """open(storage_state=None) -> a page on a phone-sized screen, in its own context."""
    contexts = []

    def open_page(storage_state=None):
        context = browser.new_context(viewport=PHONE, storage_state=storage_state)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def submit(page, form="main form") -> None:
    page.locator(form).last.locator("button[type=submit]").last.click()
    page.wait_for_load_state()


def approve_in_sandbox(page) -> None:
    """From the payment's page: pay, then approve at the sandbox's checkout."""
    submit(page, "main form[action$='/pay']")
    assert "/payments/sandbox/gateway" in page.url, page.url
    page.locator("form:has(input[name=decision][value=approve]) button").click()
    page.wait_for_load_state()


def test_a_citizen_books_an_appointment_by_clicking(live_site, signed_in, phone_page):
    page = phone_page(signed_in("lishui"))
    page.goto(live_site.city_url("lishui"))
    page.locator("main a[href$='/services/appointments/']").first.click()
    page.locator("main .slot-choices a").first.click()  # the first hospital
    page.locator("main .slot-choices a").first.click()  # its first department
    page.locator("main .slot-choices a").first.click()  # any doctor: the earliest free time
    page.locator("main .slot-choices a.button:not(.button-secondary)").first.click()  # a day
    page.locator("main .slot-choices a.button").first.click()  # its first free time
    page.locator("input[name=patient_name]").fill("张三")
    page.locator("input[name=id_number]").fill(VALID_ID_NUMBER)
    page.locator("input[name=phone]").fill("13812345678")
    submit(page)
    screenshot(page, "journey-lishui-booking")
    assert "/services/appointments/mine/" in page.url, page.url
    assert "张三" in page.locator("main").inner_text()


def test_a_citizen_applies_for_a_passport_and_pays_by_clicking(live_site, signed_in,
                                                                phone_page, tmp_path):
    # The demo charges no fee; 120 yuan here, so that submitting goes through the sandbox.
    configure_city(live_site.app, live_site.cities["shenzhen"],
                   values={"passports": {"fee_fen": 12000}})
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(60, 80))
    page = phone_page(signed_in("shenzhen"))
    page.goto(live_site.city_url("shenzhen"))
    page.locator("main a[href$='/services/passports/']").first.click()
    submit(page, "main form[action$='/new']")
    page.locator("input[name=full_name]").fill("李四")
    page.locator("input[name=date_of_birth]").fill("1985-04-23")
    page.locator("input[name=id_number]").fill(VALID_ID_NUMBER)
    page.locator("input[name=phone]").fill("13812345678")
    submit(page)
    page.locator("input[name=passport_number]").fill("E12345678")
    page.locator("input[name=passport_expiry]").fill("2027-01-31")
    submit(page)
    page.locator("input[name=reason]").first.check()
    submit(page)
    page.locator("input[name=collection_method]").first.check()
    office = page.locator("select[name=office] option:not([value=''])")
    if office.count():
        page.locator("select[name=office]").select_option(office.first.get_attribute("value"))
    page.locator("textarea[name=delivery_address]").fill("深圳市福田区福中三路1号")
    submit(page)
    assert page.url.endswith("/documents"), page.url
    kinds = page.locator("select[name=kind] option").evaluate_all("os => os.map(o => o.value)")
    for kind in kinds[:-1]:  # the photo and each required document; not "other"
        page.locator("select[name=kind]").select_option(kind)
        page.locator("input[type=file]").set_input_files(str(photo))
        submit(page)
    page.locator("main a[href$='/review']").first.click()
    submit(page)
    approve_in_sandbox(page)  # paying submits it; the sandbox returns to the application
    screenshot(page, "journey-shenzhen-passport")
    assert re.search(r"/services/passports/\d+$", page.url), page.locator("main").inner_text()
    assert "E12345678" in page.locator("main").inner_text()


def test_a_visitor_pays_a_traffic_fine_through_the_sandbox_by_clicking(live_site, phone_page):
    page = phone_page()
    page.goto(live_site.city_url("shenzhen"))
    page.locator("main a[href$='/services/traffic-fines/']").first.click()
    page.locator("input[name=plate_number]").fill("粤B12345")
    page.locator("input[name=ticket_number]").fill("33110001")
    submit(page)
    submit(page)  # Pay ¥200.00: the payment is made
    approve_in_sandbox(page)
    page.locator("main a[href*='/receipt']").first.click()
    screenshot(page, "journey-shenzhen-fine-receipt")
    assert "/receipt" in page.url, page.url
    assert "33110001" in page.locator("main").inner_text()
