"""privacy notices, consent at registration and the ICP filing number

Revision ID: 9e41c7a2b6d0
Revises: 2d7cae47dba6
Create Date: 2026-12-06 22:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '9e41c7a2b6d0'
down_revision = '2d7cae47dba6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('privacy_notices',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body_zh', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_by', sa.String(length=300), nullable=False),
    sa.CheckConstraint('version >= 2', name=op.f('ck_privacy_notices_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
    sa.UniqueConstraint('version', name=op.f('uq_privacy_notices_version'))
    )
    # Existing accounts have accepted no version: they registered before consent was asked.
    op.add_column('users', sa.Column('privacy_version', sa.Integer(), nullable=True))
    op.add_column('users', sa.Column('privacy_accepted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('branding', sa.Column('icp_filing', sa.String(length=50), server_default='', nullable=False))


def downgrade():
    op.drop_column('branding', 'icp_filing')
    op.drop_column('users', 'privacy_accepted_at')
    op.drop_column('users', 'privacy_version')
    op.drop_table('privacy_notices')
