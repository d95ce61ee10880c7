"""oidc sign-in and branding

Revision ID: ddf4acdb2443
Revises: 633b5adb2f94
Create Date: 2026-11-28 16:53:53.117861
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'ddf4acdb2443'
down_revision = '633b5adb2f94'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oidc_providers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('scopes', sa.String(length=200), server_default='openid email profile', nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("key ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'", name=op.f('ck_oidc_providers_key_format')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_providers')),
    sa.UniqueConstraint('key', name=op.f('uq_oidc_providers_key'))
    )
    op.create_table('user_identities',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('provider_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['oidc_providers.id'], name=op.f('fk_user_identities_provider_id_oidc_providers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identities')),
    sa.UniqueConstraint('provider_id', 'subject', name=op.f('uq_user_identities_provider_id'))
    )
    op.create_index(op.f('ix_user_identities_user_id'), 'user_identities', ['user_id'], unique=False)
    op.add_column('branding', sa.Column('logo_file', sa.String(length=100), nullable=True))
    op.add_column('branding', sa.Column('logo_content_type', sa.String(length=40), nullable=True))
    op.add_column('branding', sa.Column('logo_hash', sa.String(length=64), nullable=True))
    op.add_column('branding', sa.Column('hero_file', sa.String(length=100), nullable=True))
    op.add_column('branding', sa.Column('hero_content_type', sa.String(length=40), nullable=True))
    op.add_column('branding', sa.Column('hero_hash', sa.String(length=64), nullable=True))
    op.add_column('branding', sa.Column('hero_pattern', sa.String(length=20), server_default='dots', nullable=False))
    op.add_column('branding', sa.Column('contact_address', sa.String(length=300), server_default='', nullable=False))
    op.add_column('branding', sa.Column('contact_address_zh', sa.String(length=300), server_default='', nullable=False))
    op.add_column('branding', sa.Column('contact_phone', sa.String(length=40), server_default='', nullable=False))
    op.add_column('branding', sa.Column('contact_email', sa.String(length=254), server_default='', nullable=False))
    op.add_column('branding', sa.Column('opening_hours', sa.String(length=200), server_default='', nullable=False))
    op.add_column('branding', sa.Column('opening_hours_zh', sa.String(length=200), server_default='', nullable=False))
    op.add_column('branding', sa.Column('languages', postgresql.ARRAY(sa.String(length=10)), server_default=sa.text("'{zh_Hans,en}'"), nullable=False))
    # Autogenerate sees neither new check constraints nor a changed server default.
    op.alter_column('branding', 'accent_color', server_default='#f2b632')
    op.create_check_constraint(op.f('ck_branding_hero_pattern'), 'branding', "hero_pattern IN ('dots', 'grid', 'diagonal', 'waves', 'hills')")
    op.create_check_constraint(op.f('ck_branding_languages'), 'branding', "cardinality(languages) > 0 AND languages <@ CAST(ARRAY['zh_Hans', 'en'] AS VARCHAR(10)[])")
    op.create_check_constraint(op.f('ck_branding_logo'), 'branding', "logo_file IS NULL OR (logo_content_type IN ('image/png', 'image/jpeg', 'image/svg+xml') AND logo_hash IS NOT NULL)")
    op.create_check_constraint(op.f('ck_branding_hero'), 'branding', "hero_file IS NULL OR (hero_content_type IN ('image/png', 'image/jpeg', 'image/svg+xml') AND hero_hash IS NOT NULL)")


def downgrade():
    for name in ('ck_branding_hero', 'ck_branding_logo', 'ck_branding_languages', 'ck_branding_hero_pattern'):
        op.drop_constraint(op.f(name), 'branding', type_='check')
    op.alter_column('branding', 'accent_color', server_default='#b8860b')
    op.drop_column('branding', 'languages')
    op.drop_column('branding', 'opening_hours_zh')
    op.drop_column('branding', 'opening_hours')
    op.drop_column('branding', 'contact_email')
    op.drop_column('branding', 'contact_phone')
    op.drop_column('branding', 'contact_address_zh')
    op.drop_column('branding', 'contact_address')
    op.drop_column('branding', 'hero_pattern')
    op.drop_column('branding', 'hero_hash')
    op.drop_column('branding', 'hero_content_type')
    op.drop_column('branding', 'hero_file')
    op.drop_column('branding', 'logo_hash')
    op.drop_column('branding', 'logo_content_type')
    op.drop_column('branding', 'logo_file')
    op.drop_index(op.f('ix_user_identities_user_id'), table_name='user_identities')
    op.drop_table('user_identities')
    op.drop_table('oidc_providers')
