"""The passport pages of a Chinese city show no English (the citizen's steps, review,
timeline and "My account"; the staff's queue and case)."""
import pytest

from app.modules import configure
from tenants.context import tenant_context
from tenants.db import db
from tests.app.passports_support import PDF, STEP_ANSWERS, citizen, png, start, submit, upload
from tests.app.test_admin import add_staff, host, post_form, sign_in_with_2fa
from tests.app.test_i18n import english_left_on

OFFICE, DOCUMENT = "花园路市民服务中心", "户口簿本人页"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))


def test_chinese_passport_pages_show_no_english(app, client, make_city):
    town = make_city("passports-zh")  # Chinese by default
    with tenant_context(town, app):
        configure(enable=["passports"], values={"passports": {
            "offices": OFFICE, "required_documents": DOCUMENT}})
        db.session.commit()
    citizen(app, client, town, "zh@example.com")
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
    sign_in_with_2fa(staff, town, add_staff(app, town, "zh-staff@example.com", role="clerk",
                                            modules=["passports"]))
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
