"""city schema

Revision ID: 422624376014
Revises: 
Create Date: 2026-11-28 16:10:31.396913
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '422624376014'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), server_default='', nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_occurred_at'), 'audit_log', ['occurred_at'], unique=False)
    op.create_table('branding',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('primary_color', sa.String(length=7), server_default='#1f4e8c', nullable=False),
    sa.Column('accent_color', sa.String(length=7), server_default='#b8860b', nullable=False),
    sa.Column('tagline', sa.String(length=200), server_default='', nullable=False),
    sa.Column('tagline_zh', sa.String(length=200), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("accent_color ~ '^#[0-9a-f]{6}$'", name=op.f('ck_branding_accent_color')),
    sa.CheckConstraint("primary_color ~ '^#[0-9a-f]{6}$'", name=op.f('ck_branding_primary_color')),
    sa.CheckConstraint('id = 1', name=op.f('ck_branding_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_branding'))
    )


def downgrade():
    op.drop_table('branding')
    op.drop_index(op.f('ix_audit_log_occurred_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')
