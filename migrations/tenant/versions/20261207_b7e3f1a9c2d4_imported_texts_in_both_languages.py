"""imported texts in both languages: a fine's offence and place, an account's address

Revision ID: b7e3f1a9c2d4
Revises: c5e8a1d3f427
Create Date: 2026-12-07 01:10:00

Each text gets a Chinese column (`<name>_zh`) beside the English one (`<name>`). A text loaded
before had no language of its own: one with a Han character moves to the Chinese column, any
other stays English. That is what the text is, whatever its file's header said, and the same
rule places the text of an old file loaded again (app.spreadsheets.imports.is_chinese), so it
compares as identical instead of as a conflict.
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7e3f1a9c2d4'
down_revision = 'c5e8a1d3f427'
branch_labels = None
depends_on = None

# The Han ranges of app.spreadsheets.imports._HAN, as a PostgreSQL regular expression (literal
# characters, bound as a parameter: PostgreSQL's own escapes differ from Python's).
HAN = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
TEXTS = (("traffic_fines", "offence", 500), ("traffic_fines", "place", 200),
         ("utility_accounts", "address", 200))


def upgrade():
    op.execute("UPDATE utility_accounts SET address = '' WHERE address IS NULL")
    op.alter_column('utility_accounts', 'address', existing_type=sa.String(length=200),
                    nullable=False)
    for table, name, length in TEXTS:
        op.alter_column(table, name, existing_type=sa.String(length=length), server_default='')
        op.add_column(table, sa.Column(f'{name}_zh', sa.String(length=length),
                                       server_default='', nullable=False))
        op.execute(sa.text(f"UPDATE {table} SET {name}_zh = {name}, {name} = '' "
                           f"WHERE {name} ~ :han").bindparams(han=HAN))
    op.create_check_constraint(op.f('ck_traffic_fines_offence'), 'traffic_fines',
                               "offence <> '' OR offence_zh <> ''")
    op.create_check_constraint(op.f('ck_traffic_fines_place'), 'traffic_fines',
                               "place <> '' OR place_zh <> ''")


def downgrade():
    # One column again: the Chinese text where there is one (the cities' own language).
    op.drop_constraint(op.f('ck_traffic_fines_place'), 'traffic_fines', type_='check')
    op.drop_constraint(op.f('ck_traffic_fines_offence'), 'traffic_fines', type_='check')
    for table, name, length in TEXTS:
        op.execute(f"UPDATE {table} SET {name} = {name}_zh WHERE {name}_zh <> ''")
        op.drop_column(table, f'{name}_zh')
        op.alter_column(table, name, existing_type=sa.String(length=length), server_default=None)
    op.alter_column('utility_accounts', 'address', existing_type=sa.String(length=200),
                    nullable=True)
    op.execute("UPDATE utility_accounts SET address = NULL WHERE address = ''")
