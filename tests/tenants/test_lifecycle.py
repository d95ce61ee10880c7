"""Retiring a city (it disappears at once, its data is kept), restoring it, and purging it once
its retention period has passed: by hand, from the CLI and from the daily job."""
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import tenants.lifecycle_tasks  # noqa: F401  (declares tenants.purge_retired before the app)
from app.branding.models import Branding
from tenants.context import CityRetired, tenant_context
from tenants.db import db
from tenants.directory import TenantDirectory
from tenants.jobs import defer, worker_app
from tenants.lifecycle_tasks import PurgeFailed, purge_retired_cities
from tenants.provisioning import (
    ProvisioningError,
    due_for_purge,
    purge_retired,
    restore_tenant,
    retire_tenant,
    set_status,
)
from tenants.signals import tenant_deleted
from tests.conftest import run_worker
from tests.tenants.test_provisioning import NOTHING, footprint

KEPT = {"schema": 1, "role": 1, "tenant rows": 1, "domain rows": 1}


@pytest.fixture()
def uploads(uploads):
    """The test's own uploads folder (tests/conftest.py) as uploads(slug) -> a city's folder,
    with a logo in it."""
    def make(slug):
        folder = uploads / slug / "branding"
        folder.mkdir(parents=True)
        (folder / "logo-0123456789abcdef.svg").write_text("<svg/>")
        return uploads / slug

    return make


def branded(app, tenant, color="#123456"):
    with tenant_context(tenant, app):
        db.session.add(Branding(id=1, primary_color=color))
        db.session.commit()


def stored_color(tenant):
    """The city's branding row, read as the owner (no city bound, so also while retired)."""
    with db.engine.connect() as connection:
        return connection.exec_driver_sql(
            f'SELECT primary_color FROM "{tenant.schema}".branding').scalar()


def row(slug):
    with db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT status, retired_at, purge_after FROM platform.tenants WHERE slug = :s"),
            {"s": slug}).one_or_none()


def actions(slug):
    with db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT action FROM platform.audit_log WHERE tenant_slug = :s ORDER BY id"),
            {"s": slug}).scalars().all()


def expire(slug):
    """Move the city's purge date into the past, as if its retention period had passed."""
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE platform.tenants SET retired_at = now() - interval '31 days', "
            "purge_after = now() - interval '1 day' WHERE slug = :s"), {"s": slug})


def test_a_retired_city_disappears_at_once_and_keeps_its_data(app, client, make_city):
    tenant = make_city("retiring")
    branded(app, tenant)
    host = {"Host": tenant.domains[0]}
    assert client.get("/", headers=host).status_code == 200
    with app.app_context():
        elsewhere = TenantDirectory(db.engine, 0.2)  # another process's directory
    try:
        assert elsewhere.lookup_host(tenant.domains[0]).status == "active"
        with app.app_context():
            retired = retire_tenant(tenant.slug, 30)
        # this process: at once; the same answer as a host no city has ever had
        json = {"Accept": "application/json"}
        response = client.get("/account/login", headers={**host, **json})
        assert response.status_code == 404
        unknown = client.get("/account/login", headers={"Host": "nowhere.test", **json})
        assert response.get_json() == unknown.get_json()
        page = client.get("/", headers=host)
        assert page.status_code == 404 and tenant.name not in page.get_data(as_text=True)
        # another process: within its polling interval
        deadline = time.monotonic() + 5
        while elsewhere.lookup_host(tenant.domains[0]).status != "retired":
            assert time.monotonic() < deadline, "the other directory never saw the retirement"
            time.sleep(0.05)
    finally:
        elsewhere.close()
    assert retired.status == "retired"
    assert retired.purge_after - retired.retired_at == timedelta(days=30)
    with app.app_context():
        assert footprint(tenant.slug) == KEPT
        assert stored_color(tenant) == "#123456"
        assert actions(tenant.slug) == ["tenant.create", "tenant.retire"]
        # commands and jobs refuse it, by slug or by a TenantInfo
        with pytest.raises(CityRetired, match="is retired.*flask tenants restore"):
            with tenant_context(tenant.slug):
                pass
        with pytest.raises(CityRetired):
            with tenant_context(retired):
                pass


def test_restore_before_the_purge_brings_the_site_back_with_its_data(app, client, make_city):
    tenant = make_city("restored")
    branded(app, tenant, "#0b4f8a")
    host = {"Host": tenant.domains[0]}
    with app.app_context():
        retire_tenant(tenant.slug, 7)
        assert client.get("/", headers=host).status_code == 404
        restored = restore_tenant(tenant.slug)
        assert client.get("/", headers=host).status_code == 200
        assert (restored.status, restored.retired_at, restored.purge_after) == (
            "active", None, None)
        assert tuple(row(tenant.slug)) == ("active", None, None)
        with tenant_context(tenant.slug):
            assert db.session.get(Branding, 1).primary_color == "#0b4f8a"
        assert actions(tenant.slug) == ["tenant.create", "tenant.retire", "tenant.restore"]
        # restored after its purge date, before a purge ran: nothing to purge any more
        retire_tenant(tenant.slug, 0)
        restore_tenant(tenant.slug)
        assert tenant.slug not in {city.slug for city in purge_retired()}
        assert footprint(tenant.slug) == KEPT


def test_a_suspended_city_may_be_retired_and_is_restored_active(app, client, make_city):
    tenant = make_city("paused")
    with app.app_context():
        set_status(tenant.slug, "suspended")
        assert client.get("/", headers={"Host": tenant.domains[0]}).status_code == 503
        assert retire_tenant(tenant.slug, 5).status == "retired"
        assert client.get("/", headers={"Host": tenant.domains[0]}).status_code == 404
        assert restore_tenant(tenant.slug).status == "active"
        assert client.get("/", headers={"Host": tenant.domains[0]}).status_code == 200


def test_refusals_say_why_and_change_nothing(app_context, make_city):
    active, retired = make_city("refusing"), make_city("refusing")
    retire_tenant(retired.slug, 10)
    before = {slug: (tuple(row(slug)), actions(slug)) for slug in (active.slug, retired.slug)}
    cases = [
        (lambda: retire_tenant("no-such-city", 10), "no city with the slug 'no-such-city'"),
        (lambda: restore_tenant("no-such-city"), "no city with the slug"),
        (lambda: retire_tenant(retired.slug, 10), "is already retired .*purged after"),
        (lambda: restore_tenant(active.slug), "is not retired \\(it is active\\)"),
        (lambda: retire_tenant(active.slug, -1), "0 days or more, not -1"),
        (lambda: retire_tenant(active.slug, 10 ** 6), "at most 36500 days"),
        (lambda: retire_tenant(active.slug, "ten"), "whole number of days"),
        (lambda: set_status(retired.slug, "suspended"), "is retired: restore it first"),
        (lambda: set_status(retired.slug, "active"), "is retired: restore it first"),
    ]
    for call, message in cases:
        with pytest.raises(ProvisioningError, match=message):
            call()
    after = {slug: (tuple(row(slug)), actions(slug)) for slug in (active.slug, retired.slug)}
    assert after == before


def test_the_database_refuses_a_half_retired_row(app_context, make_city):
    tenant = make_city("half")
    with pytest.raises(sa.exc.IntegrityError, match="ck_tenants_retirement"):
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE platform.tenants SET status = 'retired' WHERE slug = :s"),
                {"s": tenant.slug})


def test_purge_before_the_retention_period_has_passed_does_nothing(app_context, make_city):
    tenant = make_city("early")
    retired = retire_tenant(tenant.slug, 30)
    assert tenant.slug not in {city.slug for city in due_for_purge()}
    report = purge_retired()
    assert tenant.slug not in {city.slug for city in report}
    report = purge_retired(now=retired.purge_after - timedelta(seconds=1))
    assert tenant.slug not in {city.slug for city in report}
    assert footprint(tenant.slug) == KEPT
    assert row(tenant.slug).status == "retired"


def test_purge_after_the_retention_period_drops_everything_and_tells_receivers(
        app, make_city, uploads):
    tenant, neighbour = make_city("expired"), make_city("neighbour")
    branded(app, tenant)
    folder, other_folder = uploads(tenant.slug), uploads(neighbour.slug)
    heard = []

    def receiver(sender, tenant, action):
        heard.append((sender, tenant.slug, action))

    with app.app_context(), tenant_deleted.connected_to(receiver):
        retired = retire_tenant(tenant.slug, 10)
        assert tenant.slug not in {city.slug for city in purge_retired()}
        report = purge_retired(now=datetime.now(UTC) + timedelta(days=10, minutes=1))
        assert [city.slug for city in report if city.slug == tenant.slug] == [tenant.slug]
        assert not [failed for failed, _ in report.failed if failed.slug == tenant.slug]
        assert footprint(tenant.slug) == NOTHING
        assert footprint(neighbour.slug) == KEPT
        assert (app, tenant.slug, "tenant.purge") in heard
        assert actions(tenant.slug)[-1] == "tenant.purge"
        with db.engine.connect() as connection:
            detail = connection.execute(sa.text(
                "SELECT detail FROM platform.audit_log WHERE tenant_slug = :s "
                "AND action = 'tenant.purge'"), {"s": tenant.slug}).scalar_one()
        assert detail["schema"] == tenant.schema
        assert detail["purge_after"] == retired.purge_after.isoformat()
    assert not folder.exists()
    assert other_folder.exists()


def test_tenants_delete_also_removes_the_uploads_folder(app, make_city, uploads):
    from tenants.provisioning import delete_tenant

    tenant = make_city("deleted")
    folder = uploads(tenant.slug)
    with app.app_context():
        delete_tenant(tenant.slug)
    assert not folder.exists()


def test_a_city_that_fails_to_purge_is_reported_and_the_others_go_on(
        app, make_city, monkeypatch):
    busy, entangled, fine = make_city("busy"), make_city("entangled"), make_city("fine")
    monkeypatch.setitem(app.config, "TENANT_MIGRATION_LOCK_TIMEOUT", "300ms")
    with app.app_context():
        for city in (busy, entangled, fine):
            retire_tenant(city.slug, 0)
        # busy: someone holds a lock on one of its tables (a psql session left open...);
        # entangled: its role was granted something outside its schema, so DROP ROLE fails
        holder = db.engine.connect()
        try:
            holder.begin()
            holder.exec_driver_sql(f'LOCK TABLE "{busy.schema}".branding IN ACCESS SHARE MODE')
            with db.engine.begin() as connection:
                connection.exec_driver_sql(
                    f'GRANT SELECT ON platform.directory_state TO "{entangled.db_role}"')
            report = purge_retired()
            failed = {city.slug: reason for city, reason in report.failed}
            assert "lock timeout" in failed[busy.slug]
            assert "cannot be dropped" in failed[entangled.slug]
            assert fine.slug in {city.slug for city in report}
            assert footprint(fine.slug) == NOTHING
            for city in (busy, entangled):  # left whole, still retired, for the next purge
                assert footprint(city.slug) == KEPT
                assert row(city.slug).status == "retired"
            # the daily job fails, so that `flask jobs status` shows it
            with pytest.raises(PurgeFailed, match=f"{busy.slug}: .*lock timeout"):
                purge_retired_cities()
        finally:
            holder.rollback()
            holder.close()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                f'REVOKE SELECT ON platform.directory_state FROM "{entangled.db_role}"')
        report = purge_retired()
        assert {busy.slug, entangled.slug} <= {city.slug for city in report}
        assert not report.failed
        assert footprint(busy.slug) == footprint(entangled.slug) == NOTHING


def test_retiring_cancels_the_citys_queued_jobs(app, make_city):
    tenant = make_city("quiet")
    with app.app_context():
        job = defer("notifications.deliver", city=tenant.slug)
        retire_tenant(tenant.slug, 30)
        run_worker(app)
        with db.engine.connect() as connection:
            status = connection.execute(sa.text(
                "SELECT status FROM jobs.procrastinate_jobs WHERE id = :id"), {"id": job}
            ).scalar()
            failed = connection.execute(sa.text(
                "SELECT count(*) FROM jobs.procrastinate_jobs WHERE status = 'failed' "
                "AND args->>'city' = :s"), {"s": tenant.slug}).scalar()
    assert status == "cancelled" and failed == 0


def test_the_daily_job_purges_expired_cities_through_a_worker(app, make_city, uploads):
    periodic = worker_app(app).periodic_registry.periodic_tasks
    assert periodic[("tenants.purge_retired", "tenants.purge_retired")].cron == "17 3 * * *"
    expired, kept = make_city("job-expired"), make_city("job-kept")
    folder = uploads(expired.slug)
    with app.app_context():
        retire_tenant(expired.slug, 30)
        retire_tenant(kept.slug, 30)
        expire(expired.slug)
        defer("tenants.purge_retired")
    run_worker(app)
    with app.app_context():
        assert footprint(expired.slug) == NOTHING
        assert footprint(kept.slug) == KEPT
        with db.engine.connect() as connection:
            actor = connection.execute(sa.text(
                "SELECT actor FROM platform.audit_log WHERE tenant_slug = :s "
                "AND action = 'tenant.purge'"), {"s": expired.slug}).scalar_one()
            failed = connection.execute(sa.text(
                "SELECT count(*) FROM jobs.procrastinate_jobs "
                "WHERE task_name = 'tenants.purge_retired' AND status <> 'succeeded'")).scalar()
        restore_tenant(kept.slug)
    assert actor == "job:tenants.purge_retired"
    assert failed == 0
    assert not folder.exists()


# -- the CLI -----------------------------------------------------------------------------------

def test_retire_needs_yes_and_says_until_when_the_data_is_kept(cli, client, make_city):
    tenant = make_city("cli-retire")
    host = {"Host": tenant.domains[0]}
    refused = cli.invoke(args=["tenants", "retire", tenant.slug])
    assert refused.exit_code == 2 and "add --yes to confirm" in refused.output
    assert client.get("/", headers=host).status_code == 200

    retired = cli.invoke(args=["tenants", "retire", tenant.slug, "--retention-days", "14",
                               "--yes"])
    assert retired.exit_code == 0, retired.output
    assert f"retired city {tenant.slug}" in retired.output
    assert "data kept until" in retired.output and "(14 days)" in retired.output
    assert f"flask tenants restore {tenant.slug}" in retired.output
    assert client.get("/", headers=host).status_code == 404

    shown = json.loads(cli.invoke(args=["tenants", "show", tenant.slug, "--json"]).output)
    assert shown["status"] == "retired"
    retired_at, purge_after = (datetime.fromisoformat(shown[k])
                               for k in ("retired_at", "purge_after"))
    assert purge_after - retired_at == timedelta(days=14)
    listed = {city["slug"]: city for city in json.loads(
        cli.invoke(args=["tenants", "list", "--json"]).output)}
    assert listed[tenant.slug]["purge_after"] == shown["purge_after"]
    table = [line for line in cli.invoke(args=["tenants", "list"]).output.splitlines()
             if line.startswith(f"{tenant.slug} ")]
    assert len(table) == 1 and "retired" in table[0]
    assert f"purged after {purge_after.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in table[0]
    text = cli.invoke(args=["tenants", "show", tenant.slug]).output
    assert "purge_after" in text and "retired_at" in text

    # still migrated (it may come back)
    migrated = cli.invoke(args=["tenants", "migrate", tenant.slug])
    assert migrated.exit_code == 0 and "1 up to date" in migrated.output

    restored = cli.invoke(args=["tenants", "restore", tenant.slug])
    assert restored.exit_code == 0 and f"restored city {tenant.slug}" in restored.output
    assert client.get("/", headers=host).status_code == 200
    assert "retired_at" not in cli.invoke(args=["tenants", "show", tenant.slug]).output


def test_retire_defaults_to_the_configured_retention(app, cli, make_city, monkeypatch):
    tenant = make_city("cli-default")
    monkeypatch.setitem(app.config, "TENANT_RETENTION_DAYS", 3)
    result = cli.invoke(args=["tenants", "retire", tenant.slug, "--yes"])
    assert result.exit_code == 0 and "(3 days)" in result.output
    with app.app_context():
        status, retired_at, purge_after = row(tenant.slug)
    assert purge_after - retired_at == timedelta(days=3)


def test_lifecycle_refusals_have_messages_and_a_non_zero_exit(cli, make_city):
    active, retired = make_city("cli-refuse"), make_city("cli-refuse")
    assert cli.invoke(args=["tenants", "retire", retired.slug, "--yes"]).exit_code == 0
    cases = [
        (["tenants", "retire", "no-such-city", "--yes"], "no city with the slug"),
        (["tenants", "restore", "no-such-city"], "no city with the slug"),
        (["tenants", "retire", retired.slug, "--yes"], "is already retired"),
        (["tenants", "restore", active.slug], "is not retired (it is active)"),
        (["tenants", "retire", active.slug, "--retention-days", "-1", "--yes"],
         "0 days or more"),
        (["tenants", "retire", active.slug, "--retention-days", "x", "--yes"],
         "is not a valid integer"),
        (["tenants", "suspend", retired.slug], "is retired: restore it first"),
        (["tenants", "resume", retired.slug], "is retired: restore it first"),
        # a command that works inside the city refuses it too, without a traceback
        (["tenants", "brand", retired.slug], "is retired"),
        (["tenants", "oidc", "list", retired.slug], "is retired"),
    ]
    for args, message in cases:
        result = cli.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args


def test_purge_dry_run_then_purge_then_a_failure(app, cli, make_city, monkeypatch):
    due, later = make_city("cli-due"), make_city("cli-later")
    assert cli.invoke(args=["tenants", "retire", due.slug, "--retention-days", "0",
                            "--yes"]).exit_code == 0
    assert cli.invoke(args=["tenants", "retire", later.slug, "--yes"]).exit_code == 0
    dry = cli.invoke(args=["tenants", "purge", "--dry-run"])
    assert dry.exit_code == 0
    assert f"would purge city {due.slug}" in dry.output and later.slug not in dry.output
    assert "nothing dropped" in dry.output
    with app.app_context():
        assert footprint(due.slug) == KEPT

    purged = cli.invoke(args=["tenants", "purge"])
    assert purged.exit_code == 0, purged.output
    assert f"purged city {due.slug} (schema {due.schema}" in purged.output
    assert later.slug not in purged.output and "0 failed" in purged.output
    with app.app_context():
        assert footprint(due.slug) == NOTHING
        assert footprint(later.slug) == KEPT
    again = cli.invoke(args=["tenants", "purge"])
    assert again.exit_code == 0 and "0 purged, 0 failed" in again.output

    stuck = make_city("cli-stuck")
    monkeypatch.setitem(app.config, "TENANT_MIGRATION_LOCK_TIMEOUT", "200ms")
    with app.app_context():
        retire_tenant(stuck.slug, 0)
        holder = db.engine.connect()
        try:
            holder.begin()
            holder.exec_driver_sql(f'LOCK TABLE "{stuck.schema}".branding IN ACCESS SHARE MODE')
            failed = cli.invoke(args=["tenants", "purge"])
        finally:
            holder.rollback()
            holder.close()
    assert failed.exit_code == 1
    assert f"FAILED to purge city {stuck.slug}: " in failed.output
    assert "lock timeout" in failed.output and "1 failed" in failed.output
    assert cli.invoke(args=["tenants", "purge"]).exit_code == 0
    assert cli.invoke(args=["tenants", "restore", later.slug]).exit_code == 0
