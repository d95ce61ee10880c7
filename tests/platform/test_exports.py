"""Exports from the console: an administrator asks, a real worker writes the archive, the page
offers the download to administrators only; everything lands in the platform audit log."""
import re
import tarfile

import pytest
import sqlalchemy as sa

from tenants.db import db
from tests.conftest import form_token, run_worker
from tests.platform.conftest import PLATFORM, sign_in_vendor_with_2fa


@pytest.fixture()
def export_dir(app, tmp_path, monkeypatch, uploads):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path / "exports"


def audit_actions(app, slug):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT action FROM platform.audit_log WHERE tenant_slug = :s ORDER BY id"),
            {"s": slug}).scalars().all()


def test_an_admin_exports_a_city_and_downloads_the_archive(app, client, vendor_admin,
                                                          make_city, export_dir):
    town = make_city("console-export")
    page = client.get(f"/console/exports?city={town.slug}", headers=PLATFORM)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # the city page's "Export" link preselects the city
    assert re.search(rf'<option (selected )?value="{town.slug}"( selected)?>', html).group(0) \
        .count("selected") == 1
    started = client.post("/console/exports", headers=PLATFORM, data={
        "csrf_token": form_token(page), "city": town.slug})
    assert started.status_code == 302
    detail_url = started.headers["Location"]
    waiting = client.get(detail_url, headers=PLATFORM).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "Download the archive" not in waiting

    run_worker(app)

    done = client.get(detail_url, headers=PLATFORM).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in done and "Download the archive" in done
    download = client.get(f"{detail_url}/download", headers=PLATFORM)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    archive = export_dir / "download.tar.gz"
    archive.write_bytes(download.data)
    with tarfile.open(archive, "r:gz") as opened:
        assert {"manifest.json", "platform.json", "schema.sql"} <= set(opened.getnames())
    assert audit_actions(app, town.slug)[-3:] == [
        "tenant.export_requested", "tenant.export", "tenant.export_download"]


def test_support_sees_exports_but_can_neither_start_nor_download(app, client, make_vendor,
                                                                 make_city, export_dir):
    town = make_city("support-export")
    admin_client = app.test_client()
    sign_in_vendor_with_2fa(admin_client, make_vendor())
    page = admin_client.get("/console/exports", headers=PLATFORM)
    admin_client.post("/console/exports", headers=PLATFORM, data={
        "csrf_token": form_token(page), "city": town.slug})
    run_worker(app)

    sign_in_vendor_with_2fa(client, make_vendor("support"))
    listing = client.get("/console/exports", headers=PLATFORM)
    assert listing.status_code == 200 and town.slug in listing.get_data(as_text=True)
    assert 'name="city"' not in listing.get_data(as_text=True)
    export_id = admin_client.get("/console/exports", headers=PLATFORM).get_data(
        as_text=True).split("/console/exports/")[1].split('"')[0]
    detail = client.get(f"/console/exports/{export_id}", headers=PLATFORM)
    assert "Only platform administrators may download" in detail.get_data(as_text=True)
    assert client.get(f"/console/exports/{export_id}/download",
                      headers=PLATFORM).status_code == 403
    assert client.post("/console/exports", headers=PLATFORM,
                       data={"city": town.slug}).status_code in (400, 403)


def test_an_unknown_city_is_refused_with_a_message(client, vendor_admin, export_dir):
    page = client.get("/console/exports", headers=PLATFORM)
    response = client.post("/console/exports", headers=PLATFORM, data={
        "csrf_token": form_token(page), "city": "no-such-city"})
    assert response.status_code == 422
    assert "error-summary" in response.get_data(as_text=True)


def test_the_console_is_not_served_on_a_city_host(client, cities):
    assert client.get("/console/exports", headers={"Host": "alpha.test"}).status_code == 404
    assert client.get("/console/fleet-migrations",
                      headers={"Host": "alpha.test"}).status_code == 404
