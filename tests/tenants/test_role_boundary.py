"""The database boundary: what a city's role may do outside its own schema, read from the
catalogues, is exactly the intended set (docs/security.md, "What a city role may do outside
its schema"), and the rest is refused when tried."""
import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import ProgrammingError

from app import create_app
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import PLATFORM_TREE, alembic_config, migrate_platform
from tenants.naming import cities_role_name
from tenants.provisioning import create_tenant
from tests.conftest import fresh_database
from tests.support.apps import app_config

# Everything in these schemas is PostgreSQL's own (or an extension's, excluded below): the
# catalogues every role reads. The boundary is drawn around what the application makes.
_OUTSIDE = """
    n.nspname NOT IN (%(own)s, 'pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.deptype = 'e'
                    AND e.classid = 'pg_namespace'::regclass AND e.objid = n.oid)
"""


def _not_of_an_extension(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.deptype = 'e' "
            f"AND e.classid = '{catalog}'::regclass AND e.objid = {oid})")


TABLE_PRIVILEGES = "{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}"
# Every privilege `role` holds outside the schema `own`, as (kind, object, privilege) rows.
PRIVILEGES_SQL = f"""
SELECT 'database', datname, p FROM pg_database, unnest('{{CONNECT,CREATE,TEMPORARY}}'::text[]) p
WHERE has_database_privilege(%(role)s, oid, p)
UNION ALL
SELECT 'schema', n.nspname, p FROM pg_namespace n, unnest('{{USAGE,CREATE}}'::text[]) p
WHERE {_OUTSIDE} AND has_schema_privilege(%(role)s, n.oid, p)
UNION ALL
SELECT 'table', c.oid::regclass::text, p
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     unnest('{TABLE_PRIVILEGES}'::text[]) p
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_OUTSIDE}
  AND {_not_of_an_extension("pg_class", "c.oid")}
  AND has_table_privilege(%(role)s, c.oid, p)
UNION ALL
SELECT 'column', a.attrelid::regclass::text || '.' || a.attname, p
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace, unnest('{{SELECT,INSERT,UPDATE}}'::text[]) p
WHERE a.attacl IS NOT NULL AND {_OUTSIDE}
  AND has_column_privilege(%(role)s, a.attrelid, a.attnum, p)
UNION ALL
SELECT 'sequence', c.oid::regclass::text, p
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     unnest('{{USAGE,SELECT,UPDATE}}'::text[]) p
WHERE c.relkind = 'S' AND {_OUTSIDE} AND has_sequence_privilege(%(role)s, c.oid, p)
UNION ALL
SELECT 'function', f.oid::regprocedure::text, 'EXECUTE'
FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
WHERE {_OUTSIDE} AND {_not_of_an_extension("pg_proc", "f.oid")}
  AND has_function_privilege(%(role)s, f.oid, 'EXECUTE')
UNION ALL
SELECT 'large object', l.oid::text, coalesce(acl.privilege_type, 'OWNER')
FROM pg_largeobject_metadata l LEFT JOIN LATERAL aclexplode(l.lomacl) acl ON true
WHERE l.lomowner = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
   OR acl.grantee = 0 OR acl.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
UNION ALL
SELECT 'role', r.rolname, 'MEMBER' FROM pg_roles r, pg_roles me
WHERE me.rolname = %(role)s AND r.oid <> me.oid AND pg_has_role(me.oid, r.oid, 'MEMBER')
"""


def privileges_outside(database_url: str, role: str, own_schema: str | None) -> set[tuple]:
    """What `role` may do outside `own_schema` in the database of `database_url` (and which
    databases of the server it may connect to, create in or make temporary tables in)."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(PRIVILEGES_SQL, {"role": role, "own": own_schema or ""})
        return set(rows)


def intended(database_url: str) -> set[tuple]:
    """The intended set (docs/security.md): connecting (Citus connects to the workers as the
    city's role), the city's own plan, queueing its notification delivery, entering a vendor's
    support session; all through the group every city role joins."""
    with psycopg.connect(database_url) as connection:
        database, oid = connection.execute(
            "SELECT datname, oid FROM pg_database WHERE datname = current_database()").fetchone()
    return {
        ("database", database, "CONNECT"),
        ("schema", "platform_api", "USAGE"),
        ("table", "platform_api.city_entitlements", "SELECT"),
        ("function", "platform_api.request_delivery(text)", "EXECUTE"),
        ("function", "platform_api.enter_impersonation(text,text)", "EXECUTE"),
        ("role", cities_role_name(oid), "MEMBER"),
    }


def in_this_database(rows: set[tuple], database_url: str) -> set[tuple]:
    """Less CONNECT to the server's other databases (postgres, template1, other test runs):
    the server's, not the application's, and closed by pg_hba (docs/security.md)."""
    name = sa.engine.make_url(database_url).database
    return {row for row in rows if row[0] != "database" or row[1] == name}


def test_a_city_role_can_do_exactly_the_intended_set_outside_its_schema(database_url, cities):
    for city in cities.values():
        found = in_this_database(privileges_outside(database_url, city.db_role, city.schema),
                                 database_url)
        assert found == intended(database_url), city.slug


def test_public_has_nothing_of_the_applications(database_url, cities):
    """Every other role (PUBLIC) may connect and nothing more: EXECUTE, the view, the schemas
    public and platform_api and temporary tables are taken back."""
    assert in_this_database(privileges_outside(database_url, "public", None), database_url) \
        == {("database", sa.engine.make_url(database_url).database, "CONNECT")}


def refused(statement: str, params: dict | None = None, match: str = "permission denied"):
    with pytest.raises(ProgrammingError, match=match):
        db.session.execute(sa.text(statement), params or {})
    db.session.rollback()


def test_a_city_role_cannot_step_outside(app, cities):
    alpha, beta = cities["alpha"], cities["beta"]
    with tenant_context(alpha, app):
        refused("CREATE TEMPORARY TABLE scratch (id integer)",
                match="permission denied to create temporary tables")
        refused("CREATE TABLE public.scratch (id integer)", match="permission denied for schema")
        refused(f'SELECT * FROM "{beta.schema}".users', match="permission denied for schema")
        for table in ("platform.tenants", "platform.staff", "jobs.procrastinate_jobs"):
            refused(f"SELECT * FROM {table}", match="permission denied for schema")
        refused("SELECT * FROM platform.city_versions(ARRAY['city_beta'])",
                match="permission denied for schema")
        # its own plan only, through the view it may read
        assert db.session.execute(sa.text(
            "SELECT slug FROM platform_api.city_entitlements")).scalars().all() == ["alpha"]
        db.session.rollback()


def test_functions_are_refused_even_where_the_schema_is_reachable(app, cities):
    """EXECUTE is taken back function by function too, not only hidden behind its schema: let
    the city's role into the schema platform (rolled back), and the call is still refused."""
    with tenant_context(cities["alpha"], app):
        db.session.execute(sa.text("RESET ROLE"))
        db.session.execute(sa.text(f'GRANT USAGE ON SCHEMA platform, jobs '
                                   f'TO "{cities["alpha"].db_role}"'))
        db.session.execute(sa.text(f"SET LOCAL ROLE \"{cities['alpha'].db_role}\""))
        for call in ("SELECT * FROM platform.city_versions(ARRAY['city_beta'])",
                     "SELECT * FROM platform.city_stats(ARRAY['city_beta'])",
                     "SELECT jobs.procrastinate_retry_job_v1(1, now(), 0, NULL, NULL)"):
            with pytest.raises(ProgrammingError, match="permission denied for function"), \
                    db.session.begin_nested():
                db.session.execute(sa.text(call))
        db.session.rollback()


def test_a_role_that_is_no_city_can_call_nothing_of_the_platform(app, cities):
    """PUBLIC no longer reaches the city's functions: a role outside the group is refused."""
    with app.app_context(), db.engine.connect() as connection, connection.begin() as outer:
        connection.exec_driver_sql("CREATE ROLE civic_boundary_stranger NOLOGIN")
        connection.exec_driver_sql("SET LOCAL ROLE civic_boundary_stranger")
        for call in ("SELECT platform_api.request_delivery('alpha')",
                     "SELECT * FROM platform_api.city_entitlements"):
            with pytest.raises(ProgrammingError, match="permission denied"), \
                    connection.begin_nested():
                connection.exec_driver_sql(call)
        outer.rollback()


def test_a_city_role_cannot_read_the_applications_large_objects(app, cities):
    with app.app_context(), db.engine.connect() as connection, connection.begin() as outer:
        oid = connection.exec_driver_sql(
            "SELECT lo_from_bytea(0, 'the platform''s')").scalar()
        connection.exec_driver_sql(f"SET LOCAL ROLE \"{cities['alpha'].db_role}\"")
        with pytest.raises(ProgrammingError, match="permission denied for large object"):
            connection.exec_driver_sql(f"SELECT lo_get({int(oid)})")
        outer.rollback()


def test_the_migration_takes_the_defaults_back_from_cities_made_before_it(tmp_path):
    """A city made under PostgreSQL's defaults (the platform one revision back) is inside the
    boundary once the platform is migrated, and the migration goes back down cleanly."""
    with fresh_database("civic_boundary") as database_url:
        app = create_app(app_config(database_url, tmp_path))
        try:
            with app.app_context():
                migrate_platform()
                city = create_tenant("older", "Older", ["older.test"])
                _platform(database_url, command.downgrade, "64693cca2ad9")
                before = privileges_outside(database_url, city.db_role, city.schema)
                assert ("database", sa.engine.make_url(database_url).database,
                        "TEMPORARY") in before
                assert ("function", "platform_api.request_delivery(text)", "EXECUTE") in before
                assert not any(kind == "role" for kind, _, _ in before)
                _platform(database_url, command.upgrade, "head")
                after = privileges_outside(database_url, city.db_role, city.schema)
                assert in_this_database(after, database_url) == intended(database_url)
        finally:
            app.extensions["tenant_directory"].close()
            app.extensions["city_cache"].close()


def _platform(database_url: str, step, revision: str) -> None:
    config = alembic_config(PLATFORM_TREE)
    with db.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        step(config, revision)
