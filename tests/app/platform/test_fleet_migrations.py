"""Fleet migrations from the console, with a real worker: cities behind head are listed, a run
migrates the chosen ones one job each, a city whose table is locked fails alone, and a retry
migrates it."""
import re

import pytest
import sqlalchemy as sa

from tenants import migrations
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import FleetMigrationResult
from tenants.provisioning import delete_tenant
from tests.app.platform.conftest import PLATFORM, sign_in_vendor_with_2fa
from tests.conftest import form_token, run_worker
from tests.tenants.test_migrations import SCRIPTABLE, tree_with

NEXT = "f1eet0000002"


@pytest.fixture()
def towns(app, make_city):
    """Three cities of this test's own, deleted afterwards (they end at a head of the test's)."""
    made = [make_city("console-fleet") for _ in range(3)]
    yield made
    with app.app_context():
        for town in made:
            delete_tenant(town.slug)


@pytest.fixture()
def newer_head(towns, tmp_path, monkeypatch, app):
    """The code's tenant migrations gain one revision: every city is behind head now."""
    root = tmp_path / "migrations"
    root.mkdir()
    tree_with(tmp_path, SCRIPTABLE, NEXT).rename(root / migrations.TENANT_TREE)
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", root)
    monkeypatch.setitem(app.config, "TENANT_MIGRATION_LOCK_TIMEOUT", "200ms")
    migrations.script_directory.cache_clear()
    yield NEXT
    migrations.script_directory.cache_clear()


def version_of(app, town):
    with app.app_context(), db.engine.connect() as connection:
        return connection.exec_driver_sql(
            f"SELECT version_num FROM {town.schema}.alembic_version").scalar()


def start(client, scope, cities=()):
    page = client.get("/console/fleet-migrations", headers=PLATFORM)
    return client.post("/console/fleet-migrations", headers=PLATFORM, data={
        "csrf_token": form_token(page), "scope": scope, "cities": list(cities)})


def test_a_locked_city_fails_alone_and_a_retry_migrates_it(app, client, vendor_admin, towns,
                                                            newer_head):
    listing = client.get("/console/fleet-migrations", headers=PLATFORM).get_data(as_text=True)
    assert NEXT in listing
    assert all(f'value="{town.slug}"' in listing for town in towns)
    locked, old_head = towns[1], version_of(app, towns[1])
    started = start(client, "selected", [town.slug for town in towns])
    assert started.status_code == 302
    run_url = started.headers["Location"]
    waiting = client.get(run_url, headers=PLATFORM).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "Waiting for a worker" in waiting

    with app.app_context(), db.engine.connect() as blocker:
        blocker.begin()
        blocker.exec_driver_sql(f"LOCK TABLE {locked.schema}.audit_log IN ACCESS SHARE MODE")
        run_worker(app)
        blocker.rollback()

    page = client.get(run_url, headers=PLATFORM).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert "3 of 3 finished" in page
    assert "lock timeout" in page and "Retry the failed city" in page
    assert [version_of(app, town) for town in towns] == [NEXT, old_head, NEXT]
    with app.app_context():
        results = {r.tenant_slug: r for r in db.session.scalars(sa.select(FleetMigrationResult)
                   .where(FleetMigrationResult.tenant_slug.in_([t.slug for t in towns])))}
        assert results[locked.slug].status == "failed"
        assert {results[t.slug].status for t in towns if t is not locked} == {"migrated"}
        assert all(results[t.slug].seconds is not None for t in towns)

    retried = client.post(f"{run_url}/retry", headers=PLATFORM,
                          data={"csrf_token": form_token(client.get(run_url, headers=PLATFORM))})
    assert retried.status_code == 302
    retry_url = retried.headers["Location"]
    assert retry_url != run_url
    run_worker(app)
    page = client.get(retry_url, headers=PLATFORM).get_data(as_text=True)
    assert "1 migrated" in page and "0 failed" in page
    assert re.search(r"retry of run \d+|A retry of run \d+", page)
    assert version_of(app, locked) == NEXT
    with tenant_context(locked.slug, app):  # the city's role reaches what the migration added
        assert db.session.execute(sa.text("SELECT count(*) FROM fleet_note")).scalar() == 0


def test_migrate_all_takes_every_city_behind_head(app, client, vendor_admin, towns, newer_head,
                                                  cities):
    started = start(client, "all")
    assert started.status_code == 302
    run_id = int(started.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        queued = db.session.scalars(sa.select(FleetMigrationResult)
                                    .where(FleetMigrationResult.run_id == run_id)).all()
        assert {town.slug for town in towns} | {"alpha", "beta"} <= {r.tenant_slug for r in queued}
        # the session's cities stay at the repository's head: their jobs find nothing to do
        for result in queued:
            if result.tenant_slug not in {town.slug for town in towns}:
                result.status, result.error = "failed", "withdrawn by the test"
        db.session.commit()
    run_worker(app)
    assert version_of(app, cities["alpha"]) != NEXT
    assert {version_of(app, town) for town in towns} == {NEXT}


def test_bad_requests_get_a_message_and_support_cannot_start(app, client, make_vendor, towns,
                                                             newer_head):
    sign_in_vendor_with_2fa(client, make_vendor())
    none_chosen = start(client, "selected")
    assert none_chosen.status_code == 422
    assert "Choose at least one city to migrate." in none_chosen.get_data(as_text=True)
    unknown = start(client, "selected", ["no-such-city"])
    assert unknown.status_code == 422 and "no-such-city" in unknown.get_data(as_text=True)

    support = app.test_client()
    sign_in_vendor_with_2fa(support, make_vendor("support"))
    page = support.get("/console/fleet-migrations", headers=PLATFORM)
    assert page.status_code == 200 and "Migrate the chosen cities" not in page.get_data(
        as_text=True)
    refused = support.post("/console/fleet-migrations", headers=PLATFORM, data={
        "csrf_token": form_token(page), "scope": "all"})
    assert refused.status_code == 403
    assert {version_of(app, town) for town in towns} != {NEXT}
