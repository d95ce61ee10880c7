"""Exports from the console: an administrator asks, a real worker writes the archive, the page
offers the download to administrators only; everything lands in the platform audit log."""
import os
import re
import shutil
import tarfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.platform.exports import EXPIRE_ACTOR, EXPIRE_TASK, expire_exports
from tenants.db import db
from tenants.export import export_city
from tenants.jobs import DECLARED
from tenants.models import EXPORT_DONE, EXPORT_EXPIRED, CityExport, PlatformAuditEntry
from tests.app.platform.conftest import PLATFORM, sign_in_vendor_with_2fa
from tests.conftest import form_token, run_worker


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
        assert {"manifest.json", "manifest.sig", "platform.json", "data/users"} <= set(
            opened.getnames())
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
    # With a valid CSRF token, so that only the permission check can refuse it.
    assert client.post("/console/exports", headers=PLATFORM, data={
        "csrf_token": form_token(listing), "city": town.slug}).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CityExport)
                                 .where(CityExport.tenant_slug == town.slug)) == 1


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


def test_archives_past_the_retention_are_deleted_and_their_exports_expire(
        app, client, vendor_admin, make_city, export_dir):
    town = make_city("expiring-export")
    now = datetime.now(UTC)
    with app.app_context():
        days = app.config["EXPORT_RETENTION_DAYS"]
        old = export_city(town.slug).path  # into the exports folder, as the console's job
        fresh = export_city(town.slug, export_dir / f"{town.slug}-fresh.tar.gz").path
        stray = export_dir / f"{town.slug}-by-the-cli.tar.gz"  # no export row names it
        shutil.copy(old, stray)
        aged = (now - timedelta(days=days + 1)).timestamp()
        os.utime(stray, (aged, aged))
        rows = [CityExport(tenant_slug=town.slug, requested_by="test", status=EXPORT_DONE,
                           file_name=path.name, finished_at=now - timedelta(days=age))
                for path, age in ((old, days + 1), (fresh, days - 1))]
        db.session.add_all(rows)
        db.session.commit()
        expired_id, fresh_id = (row.id for row in rows)

        assert expire_exports() == 2
        assert expire_exports() == 0  # nothing left to do
        assert db.session.get(CityExport, expired_id).status == EXPORT_EXPIRED
        assert db.session.get(CityExport, fresh_id).status == EXPORT_DONE
        entries = db.session.execute(sa.select(PlatformAuditEntry.actor,
                                               PlatformAuditEntry.tenant_slug,
                                               PlatformAuditEntry.detail["file"].astext)
                                     .where(PlatformAuditEntry.action == "tenant.export_expired",
                                            PlatformAuditEntry.detail["file"].astext.in_(
                                                [old.name, stray.name, fresh.name]))
                                     .order_by(PlatformAuditEntry.id)).all()
        assert entries == [(EXPIRE_ACTOR, town.slug, old.name), (EXPIRE_ACTOR, None, stray.name)]
    assert not old.exists() and not stray.exists() and fresh.is_file()

    page = client.get(f"/console/exports/{expired_id}", headers=PLATFORM).get_data(as_text=True)
    assert "Expired" in page and "Download the archive" not in page
    assert f"kept for {days} days only" in page
    gone = client.get(f"/console/exports/{expired_id}/download", headers=PLATFORM)
    assert gone.status_code == 410 and "No longer available" in gone.get_data(as_text=True)
    assert client.get(f"/console/exports/{fresh_id}/download", headers=PLATFORM).status_code == 200


def test_the_retention_job_is_a_daily_platform_task():
    definition = DECLARED[EXPIRE_TASK]
    assert not definition.for_city and definition.cron == "17 3 * * *"
