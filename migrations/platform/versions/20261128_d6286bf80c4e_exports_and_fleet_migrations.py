"""exports and fleet migrations

Revision ID: d6286bf80c4e
Revises: 7ffb7192f533
Create Date: 2026-11-28 18:44:24.940146
"""
import sqlalchemy as sa
from alembic import op

revision = 'd6286bf80c4e'
down_revision = '7ffb7192f533'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('city_exports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('tenant_slug', sa.String(length=40), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('schema_version', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_city_exports_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_city_exports')),
    schema='platform'
    )
    op.create_index(op.f('ix_platform_city_exports_tenant_slug'), 'city_exports', ['tenant_slug'], unique=False, schema='platform')
    op.create_table('fleet_migration_runs',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('target_revision', sa.String(length=32), nullable=False),
    sa.Column('retry_of', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['retry_of'], ['platform.fleet_migration_runs.id'], name=op.f('fk_fleet_migration_runs_retry_of_fleet_migration_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_migration_runs')),
    schema='platform'
    )
    op.create_table('fleet_migration_results',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_slug', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('before', sa.String(length=32), nullable=True),
    sa.Column('after', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'migrated', 'up to date', 'failed')", name=op.f('ck_fleet_migration_results_status')),
    sa.ForeignKeyConstraint(['run_id'], ['platform.fleet_migration_runs.id'], name=op.f('fk_fleet_migration_results_run_id_fleet_migration_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_migration_results')),
    sa.UniqueConstraint('run_id', 'tenant_slug', name=op.f('uq_fleet_migration_results_run_id')),
    schema='platform'
    )
    op.create_index(op.f('ix_platform_fleet_migration_results_tenant_slug'), 'fleet_migration_results', ['tenant_slug'], unique=False, schema='platform')


def downgrade():
    op.drop_index(op.f('ix_platform_fleet_migration_results_tenant_slug'), table_name='fleet_migration_results', schema='platform')
    op.drop_table('fleet_migration_results', schema='platform')
    op.drop_table('fleet_migration_runs', schema='platform')
    op.drop_index(op.f('ix_platform_city_exports_tenant_slug'), table_name='city_exports', schema='platform')
    op.drop_table('city_exports', schema='platform')
