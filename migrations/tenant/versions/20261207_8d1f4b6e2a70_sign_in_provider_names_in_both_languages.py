"""a sign-in provider's name in Chinese beside the English one (at least one of the two)

Revision ID: 8d1f4b6e2a70
Revises: 4c8d2e6f1a93
Create Date: 2026-12-07 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '8d1f4b6e2a70'
down_revision = '4c8d2e6f1a93'
branch_labels = None
depends_on = None

# The Han ranges of app.spreadsheets.imports._HAN, as in b7e3f1a9c2d4 (bound as a parameter).
HAN = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"


def upgrade():
    op.add_column('oidc_providers', sa.Column('display_name_zh', sa.String(length=100), server_default='', nullable=False))
    op.alter_column('oidc_providers', 'display_name', server_default='')
    # A name written in Chinese is the Chinese name (as the imports decide for their texts).
    op.execute(sa.text("UPDATE oidc_providers SET display_name_zh = display_name, "
                       "display_name = '' WHERE display_name ~ :han").bindparams(han=HAN))
    op.create_check_constraint(op.f('ck_oidc_providers_display_name'), 'oidc_providers',
                               "display_name <> '' OR display_name_zh <> ''")


def downgrade():
    op.drop_constraint(op.f('ck_oidc_providers_display_name'), 'oidc_providers', type_='check')
    op.execute("UPDATE oidc_providers SET display_name = display_name_zh "
               "WHERE display_name = ''")
    op.alter_column('oidc_providers', 'display_name', server_default=None)
    op.drop_column('oidc_providers', 'display_name_zh')
