"""Shared pieces of the passport tests: a city offering passports, a document to upload, and
a filled-in application (its steps, files and submission)."""
import io

import sqlalchemy as sa

from app.modules.passports.models import PassportApplication
from tenants.context import tenant_context
from tenants.db import db
from tests.app.payments.payments_support import idempotency_key
from tests.conftest import form_token
from tests.support.cities import configure_city, host, post_form
from tests.support.images import png

OFFICES = "Huayuan Road service centre\nEast district office"
REQUIRED = "Household register page"


def enable_passports(app, tenant, **settings) -> None:
    configure_city(app, tenant, enable=["passports"], values={"passports": {
        "offices": OFFICES, "required_documents": REQUIRED, **settings}})


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


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
    shown = review.status_code == 200
    token = form_token(review if shown else client.get(
        f"/services/passports/{application_id}", headers=host(tenant)))
    key = idempotency_key(review) if shown else None
    return client.post(f"/services/passports/{application_id}/submit", headers=host(tenant),
                       data={"csrf_token": token, "idempotency_key": key or "", **data})


def application(app, tenant, application_id) -> PassportApplication:
    with tenant_context(tenant, app):
        found = db.session.get(PassportApplication, application_id)
        found.events, found.documents  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return found


def count(app, tenant, sql: str) -> int:
    with tenant_context(tenant, app):
        return db.session.scalar(sa.text(sql))
