"""retired cities

Revision ID: 386997fd61e0
Revises: 9593cde3815d
Create Date: 2026-11-28 17:11:33.237792
"""
import sqlalchemy as sa
from alembic import op

revision = '386997fd61e0'
down_revision = '9593cde3815d'
branch_labels = None
depends_on = None

# Autogenerate does not compare check constraints: these are written by hand, as in the models.
RETIREMENT = ("CASE WHEN status = 'retired' "
              "THEN retired_at IS NOT NULL AND purge_after >= retired_at "
              "ELSE retired_at IS NULL AND purge_after IS NULL END")


def upgrade():
    op.add_column('tenants', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True), schema='platform')
    op.add_column('tenants', sa.Column('purge_after', sa.DateTime(timezone=True), nullable=True), schema='platform')
    op.drop_constraint(op.f('ck_tenants_status'), 'tenants', schema='platform', type_='check')
    op.create_check_constraint(op.f('ck_tenants_status'), 'tenants',
                               "status IN ('active', 'suspended', 'retired')", schema='platform')
    op.create_check_constraint(op.f('ck_tenants_retirement'), 'tenants', RETIREMENT, schema='platform')


def downgrade():
    op.drop_constraint(op.f('ck_tenants_retirement'), 'tenants', schema='platform', type_='check')
    # A retired city stays out of reach as a suspended one (its data is kept).
    op.execute("UPDATE platform.tenants SET status = 'suspended' WHERE status = 'retired'")
    op.drop_constraint(op.f('ck_tenants_status'), 'tenants', schema='platform', type_='check')
    op.create_check_constraint(op.f('ck_tenants_status'), 'tenants',
                               "status IN ('active', 'suspended')", schema='platform')
    op.drop_column('tenants', 'purge_after', schema='platform')
    op.drop_column('tenants', 'retired_at', schema='platform')
