"""the second language of texts a city enters: hospital addresses, doctors' titles, the
reasons of closures and blocks, service-request category groups

Revision ID: c5e8a1d3f427
Revises: 4b8e1f0c7a52
Create Date: 2026-12-07 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c5e8a1d3f427'
down_revision = '4b8e1f0c7a52'
branch_labels = None
depends_on = None

# (table, column, length): each gets a Chinese twin `<column>_zh`, empty (the page falls back to
# the existing value) until the city enters it.
TEXTS = (
    ('appointment_hospitals', 'address', 300),
    ('appointment_doctors', 'title', 100),
    ('appointment_closures', 'reason', 200),
    ('appointment_blocks', 'reason', 200),
    ('service_categories', 'group_name', 60),
)


def upgrade():
    for table, column, length in TEXTS:
        op.add_column(table, sa.Column(f'{column}_zh', sa.String(length=length),
                                       server_default='', nullable=False))


def downgrade():
    for table, column, _length in reversed(TEXTS):
        op.drop_column(table, f'{column}_zh')
