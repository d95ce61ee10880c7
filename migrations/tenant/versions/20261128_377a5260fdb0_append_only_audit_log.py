"""append-only audit log

Revision ID: 377a5260fdb0
Revises: 01fc67f86115
Create Date: 2026-11-28 17:23:16.304257
"""
from alembic import op


revision = '377a5260fdb0'
down_revision = '01fc67f86115'
branch_labels = None
depends_on = None


# The city's role may add audit rows but not change them (provisioning does the same for new
# cities: tenants.provisioning.append_only_sql). The role is looked up for the schema being
# migrated; a scratch schema without a city has none.
def _for_city_role(privilege_sql):
    op.execute(f"""
    DO $$
    DECLARE city_role text := (SELECT db_role FROM platform.tenants
                               WHERE schema_name = current_schema());
    BEGIN
        IF city_role IS NOT NULL THEN
            EXECUTE format('{privilege_sql}', city_role);
        END IF;
    END $$
    """)


def upgrade():
    _for_city_role("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I")


def downgrade():
    _for_city_role("GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO %I")
