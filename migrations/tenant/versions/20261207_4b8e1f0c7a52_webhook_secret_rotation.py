"""webhook signing secrets can be rotated: the previous one signs until it expires

Revision ID: 4b8e1f0c7a52
Revises: 9e41c7a2b6d0
Create Date: 2026-12-07 01:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '4b8e1f0c7a52'
down_revision = '9e41c7a2b6d0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('webhook_endpoints', sa.Column('previous_secret_encrypted', sa.Text(), nullable=True))
    op.add_column('webhook_endpoints', sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('webhook_endpoints', 'previous_secret_expires_at')
    op.drop_column('webhook_endpoints', 'previous_secret_encrypted')
