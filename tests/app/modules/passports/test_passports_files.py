"""The photo and documents of a passport application: checked by content and size, stored
under the city's uploads folder with random names, served only to the applicant and the
city's staff."""
import io

import pytest

from tests.app.modules.passports.passports_support import (
    PDF,
    REQUIRED,
    application,
    count,
    enable_passports,
    fill_in,
    start,
    submit,
    upload,
)
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import host, post_form
from tests.support.images import png

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("passport-files", locale="en")
    enable_passports(app, tenant)
    return tenant


def stored_files(uploads, town) -> list:
    folder = uploads / town.slug / "passports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_files_are_stored_per_city_with_random_names(app, client, town, uploads):
    signed_in_citizen(app, client, town, "files@example.com")
    application_id = start(client, town)
    assert upload(client, town, application_id, "photo", png(), "me.png").status_code == 302
    assert upload(client, town, application_id, REQUIRED, PDF, "户口本.pdf").status_code == 302
    (first, second) = stored_files(uploads, town)
    assert {first.suffix, second.suffix} == {".png", ".pdf"}
    assert "me" not in first.name and len(first.stem) >= 30
    documents = application(app, town, application_id).documents
    assert [(d.kind, d.original_name, d.content_type) for d in documents] == [
        ("photo", "me.png", "image/png"), (REQUIRED, "户口本.pdf", "application/pdf")]
    page = client.get(f"/services/passports/{application_id}/documents", headers=host(town))
    token_page = page.get_data(as_text=True)
    assert "户口本.pdf" in token_page
    removed = post_form(client, town,
                        f"/services/passports/{application_id}/documents/{documents[0].id}"
                        "/delete", {}, page=f"/services/passports/{application_id}/documents")
    assert removed.status_code == 302
    assert len(stored_files(uploads, town)) == 1
    assert [d.kind for d in application(app, town, application_id).documents] == [REQUIRED]


@pytest.mark.parametrize(("kind", "data", "name", "status", "message"), [
    ("photo", png() + b"\0" * (2 * 1024 * 1024), "big.png", 413,
     "The file is too large: the limit is 2.0 MB."),
    (REQUIRED, PDF + b"\0" * (5 * 1024 * 1024), "big.pdf", 413,
     "The file is too large: the limit is 5.0 MB."),
    ("photo", PDF, "photo.jpg", 422, "The photo must be a JPEG or PNG image."),
    (REQUIRED, b"GIF89a\x01\x00\x01\x00", "scan.pdf", 422,
     "The document must be a PDF file or a JPEG or PNG image."),
    ("photo", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo.png", 422,
     "The photo must be a JPEG or PNG image."),
    ("photo", b"\x89PNG\r\n\x1a\nnot really", "photo.png", 422, "The image file is damaged."),
    (REQUIRED, b"", "empty.pdf", 422, "The file is empty."),
])
def test_a_wrong_or_too_big_file_is_refused_and_nothing_is_saved(
        app, client, town, uploads, kind, data, name, status, message):
    signed_in_citizen(app, client, town, f"refused-{status}-{len(data)}@example.com")
    application_id = start(client, town)
    response = upload(client, town, application_id, kind, data, name)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert stored_files(uploads, town) == []
    assert count(app, town, "SELECT count(*) FROM passport_documents") == 0


def test_no_upload_once_submitted(app, client, town, uploads):
    signed_in_citizen(app, client, town, "late@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    before = stored_files(uploads, town)
    token = form_token(client.get(f"/services/passports/{application_id}", headers=host(town)))
    response = client.post(f"/services/passports/{application_id}/documents",
                           headers=host(town), content_type="multipart/form-data",
                           data={"csrf_token": token, "kind": "photo",
                                 "file": (io.BytesIO(png()), "again.png")})
    assert response.status_code == 409
    assert "it can&#39;t be changed now" in response.get_data(as_text=True)
    assert stored_files(uploads, town) == before


def test_files_are_served_to_the_applicant_and_the_citys_staff_only(app, client, town,
                                                                     make_city):
    signed_in_citizen(app, client, town, "mine@example.com")
    application_id = fill_in(client, town)
    submit(client, town, application_id)
    photo, document = application(app, town, application_id).documents
    own = client.get(f"/services/passports/{application_id}/documents/{photo.id}",
                     headers=host(town))
    assert own.status_code == 200 and own.data == png()
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Content-Type"] == "image/png"
    assert own.headers["Content-Disposition"].startswith("inline")
    assert "no-store" in own.headers["Cache-Control"]
    pdf = client.get(f"/services/passports/{application_id}/documents/{document.id}",
                     headers=host(town))
    assert pdf.headers["Content-Disposition"].startswith("attachment")

    other = app.test_client()
    signed_in_citizen(app, other, town, "nosy@example.com")
    assert other.get(f"/services/passports/{application_id}/documents/{photo.id}",
                     headers=host(town)).status_code == 404

    staff = app.test_client()
    signed_in_staff(app, staff, town, "desk@example.com", role="clerk", modules=["passports"])
    seen = staff.get(f"/admin/passports/{application_id}/documents/{photo.id}",
                     headers=host(town))
    assert seen.status_code == 200 and seen.data == png()
    assert staff.get(f"/admin/passports/{application_id}/documents/{photo.id + 1000}",
                     headers=host(town)).status_code == 404

    outsider = app.test_client()
    signed_in_staff(app, outsider, town, "parks2@example.com", role="clerk", modules=["parking"])
    assert outsider.get(f"/admin/passports/{application_id}/documents/{photo.id}",
                        headers=host(town)).status_code == 403

    elsewhere = make_city("passport-files-b", locale="en")
    enable_passports(app, elsewhere)
    foreign = app.test_client()
    signed_in_staff(app, foreign, elsewhere, "boss-b@example.com", role="admin")
    assert foreign.get(f"/admin/passports/{application_id}/documents/{photo.id}",
                       headers=host(elsewhere)).status_code == 404
