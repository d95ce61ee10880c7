"""staff and second factor

Revision ID: 01fc67f86115
Revises: c02b52bec0ad
Create Date: 2026-11-28 17:23:03.481310
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '01fc67f86115'
down_revision = 'c02b52bec0ad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_invitations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('modules', postgresql.ARRAY(sa.String(length=64)), server_default='{}', nullable=False),
    sa.Column('invited_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'module_manager', 'clerk', 'viewer')", name=op.f('ck_staff_invitations_role')),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_staff_invitations_accepted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invitations'))
    )
    op.create_table('staff_members',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('modules', postgresql.ARRAY(sa.String(length=64)), server_default='{}', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('totp_secret_encrypted', sa.Text(), nullable=True),
    sa.Column('totp_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'module_manager', 'clerk', 'viewer')", name=op.f('ck_staff_members_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_members')),
    sa.UniqueConstraint('user_id', name=op.f('uq_staff_members_user_id'))
    )
    op.create_table('staff_recovery_codes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('staff_id', sa.BigInteger(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_staff_recovery_codes_staff_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes'))
    )
    op.create_index(op.f('ix_staff_recovery_codes_staff_id'), 'staff_recovery_codes', ['staff_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_staff_recovery_codes_staff_id'), table_name='staff_recovery_codes')
    op.drop_table('staff_recovery_codes')
    op.drop_table('staff_members')
    op.drop_table('staff_invitations')
