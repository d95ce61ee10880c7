"""platform schema

Revision ID: 77fe60bfbb59
Revises: 
Create Date: 2026-11-28 16:10:30.484119
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '77fe60bfbb59'
down_revision = None
branch_labels = None
depends_on = None


# Every change to the tenants or their domains bumps the directory version in the same
# transaction; each process polls it to refresh its host -> city directory.
BUMP_FUNCTION = """
CREATE FUNCTION platform.bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE platform.directory_state SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$
"""

# Every city's schema version in one query, for the fleet check. Schemas without a version
# table yield no row.
CITY_VERSIONS_FUNCTION = """
CREATE FUNCTION platform.city_versions(schemas text[])
RETURNS TABLE (schema_name text, version_num text) LANGUAGE plpgsql STABLE AS $$
BEGIN
    FOREACH schema_name IN ARRAY schemas LOOP
        IF to_regclass(format('%I.alembic_version', schema_name)) IS NOT NULL THEN
            EXECUTE format('SELECT version_num FROM %I.alembic_version LIMIT 1', schema_name)
                INTO version_num;
            RETURN NEXT;
        END IF;
    END LOOP;
END $$
"""


def upgrade():
    op.execute("CREATE SCHEMA IF NOT EXISTS platform")
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('tenant_slug', sa.String(length=40), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    schema='platform'
    )
    op.create_index(op.f('ix_platform_audit_log_occurred_at'), 'audit_log', ['occurred_at'], unique=False, schema='platform')
    op.create_index(op.f('ix_platform_audit_log_tenant_slug'), 'audit_log', ['tenant_slug'], unique=False, schema='platform')
    op.create_table('directory_state',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_directory_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_state')),
    schema='platform'
    )
    op.create_table('tenants',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('schema_name', sa.String(length=63), nullable=False),
    sa.Column('db_role', sa.String(length=63), nullable=False),
    sa.Column('locale', sa.String(length=10), server_default='zh_Hans', nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='Asia/Shanghai', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("locale IN ('zh_Hans', 'en')", name=op.f('ck_tenants_locale')),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_tenants_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('db_role', name=op.f('uq_tenants_db_role')),
    sa.UniqueConstraint('schema_name', name=op.f('uq_tenants_schema_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug')),
    schema='platform'
    )
    op.create_table('tenant_domains',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['platform.tenants.id'], name=op.f('fk_tenant_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_domains')),
    sa.UniqueConstraint('host', name=op.f('uq_tenant_domains_host')),
    schema='platform'
    )
    op.create_index(op.f('ix_platform_tenant_domains_tenant_id'), 'tenant_domains', ['tenant_id'], unique=False, schema='platform')
    op.execute("INSERT INTO platform.directory_state (id, version) VALUES (1, 0)")
    op.execute(BUMP_FUNCTION)
    op.execute(CITY_VERSIONS_FUNCTION)
    for table in ("tenants", "tenant_domains"):
        op.execute(
            f"CREATE TRIGGER {table}_bump_directory_version "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION platform.bump_directory_version()"
        )


def downgrade():
    op.drop_index(op.f('ix_platform_tenant_domains_tenant_id'), table_name='tenant_domains', schema='platform')
    op.drop_table('tenant_domains', schema='platform')
    op.drop_table('tenants', schema='platform')
    op.drop_table('directory_state', schema='platform')
    op.drop_index(op.f('ix_platform_audit_log_tenant_slug'), table_name='audit_log', schema='platform')
    op.drop_index(op.f('ix_platform_audit_log_occurred_at'), table_name='audit_log', schema='platform')
    op.drop_table('audit_log', schema='platform')
    op.execute("DROP FUNCTION platform.city_versions(text[])")
    op.execute("DROP FUNCTION platform.bump_directory_version()")
