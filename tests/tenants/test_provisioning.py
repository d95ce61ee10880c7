"""Provisioning is atomic: a city is made whole, or nothing of it is left behind."""
import psycopg
import pytest
import sqlalchemy as sa

from app.branding.models import Branding
from tenants import provisioning
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import tenant_head
from tenants.naming import InvalidName, role_name, schema_name
from tenants.provisioning import ProvisioningError, create_tenant, delete_tenant, set_status


def footprint(slug: str) -> dict:
    """Everything a city named `slug` could have left in the database."""
    with db.engine.connect() as connection:
        oid = connection.exec_driver_sql(
            "SELECT oid FROM pg_database WHERE datname = current_database()").scalar()
        one = lambda query, **params: connection.execute(sa.text(query), params).scalar()  # noqa: E731
        return {
            "schema": one("SELECT count(*) FROM pg_namespace WHERE nspname = :s",
                          s=schema_name(slug)),
            "role": one("SELECT count(*) FROM pg_roles WHERE rolname = :r",
                        r=role_name(oid, slug)),
            "tenant rows": one("SELECT count(*) FROM platform.tenants WHERE slug = :s", s=slug),
            "domain rows": one(
                "SELECT count(*) FROM platform.tenant_domains WHERE host LIKE :h", h=f"%{slug}.%"),
        }


NOTHING = {"schema": 0, "role": 0, "tenant rows": 0, "domain rows": 0}


def test_a_new_city_has_its_schema_role_tables_version_and_rows(app_context, new_slug):
    slug = new_slug("fresh")
    tenant = create_tenant(slug, "Fresh", [f"{slug}.test", f"WWW.{slug}.test."],
                           name_zh="新城", locale="en", timezone="Asia/Urumqi")
    assert tenant.schema == schema_name(slug)
    assert tenant.domains == (f"{slug}.test", f"www.{slug}.test")
    assert (tenant.name, tenant.name_zh, tenant.locale, tenant.timezone, tenant.status) == (
        "Fresh", "新城", "en", "Asia/Urumqi", "active")
    assert footprint(slug) == {"schema": 1, "role": 1, "tenant rows": 1, "domain rows": 2}
    with db.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names(schema=tenant.schema))
        version = connection.exec_driver_sql(
            f"SELECT version_num FROM {tenant.schema}.alembic_version").scalar()
        audit = connection.execute(sa.text(
            "SELECT action, detail FROM platform.audit_log WHERE tenant_slug = :s"), {"s": slug}
        ).one()
    assert {"alembic_version", "branding", "audit_log"} <= tables
    assert version == tenant_head()
    assert audit.action == "tenant.create" and audit.detail["schema"] == tenant.schema


def test_the_city_role_may_use_its_data_but_not_the_migration_bookkeeping(app_context, make_city):
    tenant = make_city("grants")
    with db.engine.connect() as connection:
        privilege = lambda table, what: connection.exec_driver_sql(  # noqa: E731
            f"SELECT has_table_privilege('{tenant.db_role}', '{tenant.schema}.{table}', '{what}')"
        ).scalar()
        assert privilege("branding", "INSERT") and privilege("audit_log", "SELECT")
        assert privilege("audit_log", "INSERT")
        assert not privilege("audit_log", "UPDATE") and not privilege("audit_log", "DELETE")
        assert not privilege("alembic_version", "SELECT")
        assert not privilege("alembic_version", "UPDATE")
        assert not connection.exec_driver_sql(
            f"SELECT has_schema_privilege('{tenant.db_role}', 'platform', 'USAGE')").scalar()


@pytest.mark.parametrize(("arguments", "message"), [
    ({"slug": "Bad Slug"}, "invalid slug"),
    ({"slug": "admin"}, "reserved"),
    ({"name": "  "}, "name is required"),
    ({"domains": []}, "at least one domain"),
    ({"domains": ["http://x.test/"]}, "invalid domain"),
    ({"domains": ["platform.test"]}, "platform's own host"),
    ({"locale": "fr"}, "unknown locale"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
])
def test_bad_input_is_refused_before_any_sql(app_context, new_slug, arguments, message):
    slug = new_slug("refused")
    call = {"slug": slug, "name": "Refused", "domains": [f"{slug}.test"], **arguments}
    with pytest.raises((InvalidName, ProvisioningError), match=message):
        create_tenant(call.pop("slug"), call.pop("name"), call.pop("domains"), **call)
    assert footprint(slug) == NOTHING


def test_a_taken_slug_or_domain_is_refused_and_the_first_city_is_untouched(app_context, make_city,
                                                                           new_slug):
    first = make_city("taken")
    with pytest.raises(ProvisioningError, match="already exists"):
        create_tenant(first.slug, "Again", ["another-host.test"])
    other = new_slug("other")
    with pytest.raises(ProvisioningError, match=f"already belongs to the city {first.slug}"):
        create_tenant(other, "Other", [f"{other}.test", first.domains[0]])
    assert footprint(other) == NOTHING
    assert footprint(first.slug) == {"schema": 1, "role": 1, "tenant rows": 1, "domain rows": 1}


def _run_as_admin(statement: str) -> None:
    with db.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql(statement)


def test_a_database_error_half_way_leaves_nothing_behind(app_context, new_slug):
    # A role of that name already exists: the platform rows are written before CREATE ROLE fails.
    slug = new_slug("clash")
    with db.engine.connect() as connection:
        oid = connection.exec_driver_sql(
            "SELECT oid FROM pg_database WHERE datname = current_database()").scalar()
    _run_as_admin(f'CREATE ROLE "{role_name(oid, slug)}"')
    try:
        with pytest.raises(ProvisioningError, match="already exists"):
            create_tenant(slug, "Clash", [f"{slug}.test"])
        state = footprint(slug)
        assert state == {**NOTHING, "role": 1}  # only the role that was there before
    finally:
        _run_as_admin(f'DROP ROLE "{role_name(oid, slug)}"')


def test_a_schema_clash_after_the_role_was_made_rolls_the_role_back(app_context, new_slug):
    slug = new_slug("schema-clash")
    _run_as_admin(f'CREATE SCHEMA "{schema_name(slug)}"')
    try:
        with pytest.raises(ProvisioningError, match="already exists"):
            create_tenant(slug, "Clash", [f"{slug}.test"])
        assert footprint(slug) == {**NOTHING, "schema": 1}
    finally:
        _run_as_admin(f'DROP SCHEMA "{schema_name(slug)}"')


def test_an_error_in_the_last_step_rolls_everything_back(app_context, new_slug, monkeypatch):
    slug = new_slug("injected")
    real_ddl = provisioning.city_schema_ddl
    monkeypatch.setattr(provisioning, "city_schema_ddl",
                        lambda *args: (*real_ddl(*args), "SELECT 1 / 0"))
    with pytest.raises(ProvisioningError, match="division by zero"):
        create_tenant(slug, "Injected", [f"{slug}.test"])
    assert footprint(slug) == NOTHING
    with db.engine.connect() as connection:
        assert not connection.execute(sa.text(
            "SELECT count(*) FROM platform.audit_log WHERE tenant_slug = :s"), {"s": slug}).scalar()


def test_suspend_and_resume_are_recorded_and_refuse_no_ops(app_context, make_city):
    tenant = make_city("lifecycle")
    assert set_status(tenant.slug, "suspended").status == "suspended"
    with pytest.raises(ProvisioningError, match="already suspended"):
        set_status(tenant.slug, "suspended")
    assert set_status(tenant.slug, "active").status == "active"
    with db.engine.connect() as connection:
        actions = connection.execute(sa.text(
            "SELECT action FROM platform.audit_log WHERE tenant_slug = :s ORDER BY id"),
            {"s": tenant.slug}).scalars().all()
    assert actions == ["tenant.create", "tenant.suspend", "tenant.resume"]


def test_delete_drops_the_schema_the_role_and_the_rows(app_context, make_city, database_url):
    tenant = make_city("doomed")
    with tenant_context(tenant):
        db.session.add(Branding(id=1, primary_color="#123456"))
        db.session.commit()
    delete_tenant(tenant.slug)
    assert footprint(tenant.slug) == NOTHING
    with pytest.raises(ProvisioningError, match="no city"):
        delete_tenant(tenant.slug)
    # the role is gone cluster-wide, not only from this database's view
    with psycopg.connect(database_url) as connection:
        assert not connection.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (tenant.db_role,)).fetchone()
