"""Roles are cluster-wide, schemas per database: two databases on one server (staging beside
production, parallel test runs) may hold cities of the same slug without sharing a role."""
import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

from app import create_app
from tenants import citus
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import migrate_platform
from tenants.naming import role_prefix
from tenants.provisioning import create_tenant, delete_tenant


@pytest.fixture()
def second_database(database_url):
    name = make_url(database_url).database + "_second"
    server = make_url(database_url).set(database="postgres").render_as_string(False)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        oid = admin.execute("SELECT oid FROM pg_database WHERE datname = %s",
                            (name,)).fetchone()[0]
    yield make_url(database_url).set(database=name).render_as_string(False)
    # with the group role of its cities' roles (tenants.naming.cities_role_name)
    citus.drop_database(server, name, role_prefix(oid))


def test_the_same_slug_in_two_databases_gets_two_roles(app, cities, second_database):
    other = create_app({"CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": second_database,
                        "TENANT_DIRECTORY_REFRESH_SECONDS": 0})
    with other.app_context():
        migrate_platform()
        twin = create_tenant("alpha", "Alpha elsewhere", ["alpha.test"])
        try:
            assert twin.schema == cities["alpha"].schema
            assert twin.db_role != cities["alpha"].db_role
        finally:
            delete_tenant("alpha")  # drops only this database's role
    with app.app_context(), db.engine.connect() as connection:
        survivor = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_roles WHERE rolname = %(role)s",
            {"role": cities["alpha"].db_role}).scalar()
    assert survivor == 1
    with tenant_context(cities["alpha"], app):
        assert db.session.execute(sa.text("SELECT current_user")).scalar() == cities[
            "alpha"].db_role
