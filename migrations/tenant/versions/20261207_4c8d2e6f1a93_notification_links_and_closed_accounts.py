"""notification links and closed accounts

Revision ID: 4c8d2e6f1a93
Revises: b7e3f1a9c2d4
Create Date: 2026-12-07 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '4c8d2e6f1a93'
down_revision = 'b7e3f1a9c2d4'
branch_labels = None
depends_on = None


def upgrade():
    # Older notifications have no page to link to: they show none.
    op.add_column('notifications', sa.Column('path', sa.String(length=500), nullable=True))
    op.add_column('users', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('users', 'closed_at')
    op.drop_column('notifications', 'path')
