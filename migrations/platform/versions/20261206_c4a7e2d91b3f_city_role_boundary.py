"""city role boundary: city roles reach outside their schemas only what the app needs

Revision ID: c4a7e2d91b3f
Revises: 64693cca2ad9
Create Date: 2026-12-06 21:20:00.000000

What PostgreSQL gives every role (PUBLIC) by default is taken back: TEMPORARY on the database,
USAGE on the schema public, EXECUTE on every function the application makes (now and, through
default privileges, later). What the city roles need outside their schemas (docs/security.md,
"What a city role may do outside its schema") goes to one group role,
`civic_<database oid>__cities`, that every city role joins (tenants.provisioning does so for
new cities). Idempotent: every statement may run again.
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = 'c4a7e2d91b3f'
down_revision = '64693cca2ad9'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# The application's schemas besides the cities'; procrastinate's is `jobs`.
APP_SCHEMAS = ("platform", "platform_api", "jobs")
# Called from city transactions: queueing the city's notification delivery
# (app/notifications/service.py) and entering a vendor's support session (app/admin/impersonation.py).
CITY_FUNCTIONS = ("platform_api.request_delivery(text)",
                  "platform_api.enter_impersonation(text, text)")
# Read from city transactions: the city's own plan (app/entitlements.py).
CITY_VIEWS = ("platform_api.city_entitlements",)

# Whether the current role may change the database's and the schema public's privileges (their
# owner or a superuser). On Citus the application's role owns neither; the bootstrap does it
# there, as a superuser on every node (tenants/citus.py).
_STATE_SQL = sa.text("""
SELECT d.oid, r.rolsuper OR pg_has_role(d.datdba, 'MEMBER'),
       r.rolsuper OR pg_has_role(n.nspowner, 'MEMBER')
FROM pg_database d, pg_roles r, pg_namespace n
WHERE d.datname = current_database() AND r.rolname = current_user AND n.nspname = 'public'
""")
_CITIES_SQL = sa.text("""
SELECT t.schema_name, t.db_role,
       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name),
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = t.db_role)
FROM platform.tenants t ORDER BY t.id
""")


def _state():
    bind = op.get_bind()
    oid, owns_database, owns_public = bind.execute(_STATE_SQL).one()
    return bind, f"civic_{oid}__cities", owns_database, owns_public


def upgrade():
    bind, cities, owns_database, owns_public = _state()
    if not bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"),
                        {"name": cities}).first():
        op.execute(f'CREATE ROLE "{cities}" NOLOGIN')
    for schema, role, schema_exists, role_exists in bind.execute(_CITIES_SQL).all():
        if role_exists:
            op.execute(f'GRANT "{cities}" TO "{role}"')
        if schema_exists:
            # The cities' trigger functions fire without EXECUTE; nobody calls them.
            op.execute(f'REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA "{schema}" FROM PUBLIC')
    for schema in APP_SCHEMAS:
        op.execute(f"REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA {schema} FROM PUBLIC")
    # Functions the application's role makes from now on (migrations, provisioning) too.
    op.execute("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON ROUTINES FROM PUBLIC")
    op.execute("REVOKE ALL ON SCHEMA platform_api FROM PUBLIC")
    op.execute(f'GRANT USAGE ON SCHEMA platform_api TO "{cities}"')
    for view in CITY_VIEWS:
        op.execute(f"REVOKE ALL ON {view} FROM PUBLIC")
        op.execute(f'GRANT SELECT ON {view} TO "{cities}"')
    for function in CITY_FUNCTIONS:
        op.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{cities}"')
    if owns_database:
        op.execute(f'REVOKE CREATE, TEMPORARY ON DATABASE "{_database(bind)}" FROM PUBLIC')
    if owns_public:
        op.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    if not (owns_database and owns_public):
        log.warning("%s owns neither the database nor the schema public: TEMPORARY on the "
                    "database and USAGE on public stay granted to PUBLIC until their owner "
                    "revokes them (docs/security.md)", bind.execute(
                        sa.text("SELECT current_user")).scalar())


def _database(bind) -> str:
    return bind.execute(sa.text("SELECT current_database()")).scalar()


def downgrade():
    bind, cities, owns_database, owns_public = _state()
    if owns_public:
        op.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
    if owns_database:
        op.execute(f'GRANT TEMPORARY ON DATABASE "{_database(bind)}" TO PUBLIC')
    op.execute("ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON ROUTINES TO PUBLIC")
    for schema in APP_SCHEMAS:
        op.execute(f"GRANT EXECUTE ON ALL ROUTINES IN SCHEMA {schema} TO PUBLIC")
    # As the platform console's migration left it: the fleet's figures for the owner only.
    op.execute("REVOKE EXECUTE ON FUNCTION platform.city_stats(text[]) FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA platform_api TO PUBLIC")
    for view in CITY_VIEWS:
        op.execute(f"GRANT SELECT ON {view} TO PUBLIC")
    for schema, _, schema_exists, _ in bind.execute(_CITIES_SQL).all():
        if schema_exists:
            op.execute(f'GRANT EXECUTE ON ALL ROUTINES IN SCHEMA "{schema}" TO PUBLIC')
    if bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"),
                    {"name": cities}).first():
        # Its grants go first (DROP OWNED revokes them); its members' memberships go with it.
        op.execute(f'DROP OWNED BY "{cities}"')
        op.execute(f'DROP ROLE "{cities}"')
