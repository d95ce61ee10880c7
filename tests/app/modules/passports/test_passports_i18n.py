"""The passport pages of a Chinese city show no English (the citizen's steps, review,
timeline and "My account"; the staff's queue and case)."""
import pytest

from tests.app.i18n.test_i18n import english_left_on
from tests.app.modules.passports.passports_support import (
    PDF,
    STEP_ANSWERS,
    enable_passports,
    start,
    submit,
    upload,
)
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import host, post_form
from tests.support.images import png

OFFICE, DOCUMENT = "花园路市民服务中心", "户口簿本人页"


pytestmark = pytest.mark.usefixtures("uploads")


def test_chinese_passport_pages_show_no_english(app, client, make_city):
    town = make_city("passports-zh")  # Chinese by default
    enable_passports(app, town, offices=OFFICE, required_documents=DOCUMENT)
    signed_in_citizen(app, client, town, "zh@example.com")
    pages = {"/services/passports/": client.get("/services/passports/", headers=host(town))}
    application_id = start(client, town)
    answers = {**STEP_ANSWERS, "personal": {**STEP_ANSWERS["personal"], "full_name": "王芳"},
               "collection": {"collection_method": "office", "office": OFFICE}}
    for step, data in answers.items():
        path = f"/services/passports/{application_id}/{step}"
        pages[path] = client.get(path, headers=host(town))
        assert post_form(client, town, path, data).status_code == 302
    upload(client, town, application_id, "photo", png(), "照片.png")
    upload(client, town, application_id, DOCUMENT, PDF, "户口簿.pdf")
    for path in ("/documents", "/review"):
        pages[path] = client.get(f"/services/passports/{application_id}{path}",
                                 headers=host(town))
    submit(client, town, application_id)
    pages["detail"] = client.get(f"/services/passports/{application_id}", headers=host(town))
    pages["/account/"] = client.get("/account/", headers=host(town))

    staff = app.test_client()
    signed_in_staff(app, staff, town, "zh-staff@example.com", role="clerk", modules=["passports"])
    pages["queue"] = staff.get("/admin/passports/", headers=host(town))
    pages["case"] = staff.get(f"/admin/passports/{application_id}", headers=host(town))

    assert {name: page.status_code for name, page in pages.items() if page.status_code != 200} \
        == {}
    assert "核对并提交" in pages["/review"].get_data(as_text=True)
    assert "审核中" not in pages["case"].get_data(as_text=True)  # still "submitted"
    assert "认领并审核" in pages["case"].get_data(as_text=True)
    leftovers = {name: english_left_on(page.get_data(as_text=True))
                 for name, page in pages.items()}
    assert {name: found for name, found in leftovers.items() if found} == {}
