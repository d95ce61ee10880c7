"""expired exports: city_exports.status may be 'expired' (archive deleted after
EXPORT_RETENTION_DAYS)

Revision ID: 55dc9fbb1306
Revises: d6286bf80c4e
Create Date: 2026-11-28 20:32:26.410350
"""
from alembic import op

revision = '55dc9fbb1306'
down_revision = 'd6286bf80c4e'
branch_labels = None
depends_on = None

# Autogenerate does not compare check constraints: written by hand.
CONSTRAINT = 'status'  # as the model names it: the naming convention makes ck_city_exports_status


def upgrade():
    op.drop_constraint(CONSTRAINT, 'city_exports', schema='platform', type_='check')
    op.create_check_constraint(
        CONSTRAINT, 'city_exports',
        "status IN ('queued', 'running', 'done', 'failed', 'expired')", schema='platform')


def downgrade():
    # The old constraint has no 'expired': those exports (their archive is gone) become failed.
    op.execute("UPDATE platform.city_exports SET status = 'failed', "
               "error = 'the archive was deleted after the retention period' "
               "WHERE status = 'expired'")
    op.drop_constraint(CONSTRAINT, 'city_exports', schema='platform', type_='check')
    op.create_check_constraint(
        CONSTRAINT, 'city_exports', "status IN ('queued', 'running', 'done', 'failed')",
        schema='platform')
