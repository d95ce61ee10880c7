"""Shared pieces of the passport tests: a city offering passports, signed-in citizens and
staff, files, and a filled-in application."""
import io
import re
import struct
import zlib

import sqlalchemy as sa

from app.modules import configure
from app.modules.passports.models import PassportApplication
from tenants.context import tenant_context
from tenants.db import db
from tests.app.test_admin import PASSWORD, add_citizen, host, post_form
from tests.conftest import form_token

OFFICES = "Huayuan Road service centre\nEast district office"
REQUIRED = "Household register page"


def enable_passports(app, tenant, **settings) -> None:
    with tenant_context(tenant, app):
        configure(enable=["passports"], values={"passports": {
            "offices": OFFICES, "required_documents": REQUIRED, **settings}})
        db.session.commit()


def png(width=2, height=2) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def citizen(app, client, tenant, email) -> int:
    user_id = add_citizen(app, tenant, email)
    response = post_form(client, tenant, "/account/login",
                         {"identifier": email, "password": PASSWORD})
    assert response.status_code == 302
    return user_id


def upload(client, tenant, application_id, kind, data, name="file.png"):
    path = f"/services/passports/{application_id}/documents"
    token = form_token(client.get(path, headers=host(tenant)))
    return client.post(path, headers=host(tenant), content_type="multipart/form-data",
                       data={"csrf_token": token, "kind": kind,
                             "file": (io.BytesIO(data), name)})


STEP_ANSWERS = {
    "personal": {"full_name": "Wang Fang", "date_of_birth": "1985-04-23",
                 "id_number": "11010519850423002x", "phone": "13800138000"},
    "passport": {"passport_number": "e1234 5678", "passport_expiry": "2026-12-31"},
    "reason": {"reason": "expiring", "reason_details": ""},
    "collection": {"collection_method": "office", "office": "East district office",
                   "delivery_address": ""},
}


def start(client, tenant) -> int:
    """POST /new: the citizen's draft (new or existing); returns its id."""
    response = post_form(client, tenant, "/services/passports/new", {},
                         page="/services/passports/")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/")[-2])


def fill_in(client, tenant) -> int:
    """A complete draft: every step answered, the photo and the required document."""
    application_id = start(client, tenant)
    for step, answers in STEP_ANSWERS.items():
        response = post_form(client, tenant, f"/services/passports/{application_id}/{step}",
                             answers)
        assert response.status_code == 302, response.get_data(as_text=True)
    assert upload(client, tenant, application_id, "photo", png()).status_code == 302
    assert upload(client, tenant, application_id, REQUIRED, PDF, "hukou.pdf").status_code == 302
    return application_id


def submit(client, tenant, application_id, **data):
    """The review page's form, as the browser sends it (with its idempotency key)."""
    review = client.get(f"/services/passports/{application_id}/review", headers=host(tenant))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]*)"',
                    review.get_data(as_text=True)) if review.status_code == 200 else None
    token = form_token(review if review.status_code == 200 else client.get(
        f"/services/passports/{application_id}", headers=host(tenant)))
    return client.post(f"/services/passports/{application_id}/submit", headers=host(tenant),
                       data={"csrf_token": token, "idempotency_key": key.group(1) if key else "",
                             **data})


def application(app, tenant, application_id) -> PassportApplication:
    with tenant_context(tenant, app):
        found = db.session.get(PassportApplication, application_id)
        found.events, found.documents  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return found


def count(app, tenant, sql: str) -> int:
    with tenant_context(tenant, app):
        return db.session.scalar(sa.text(sql))
