"""Alembic environment of a city schema, run from code (`flask tenants migrate`). Online:
config.attributes holds the city's open connection, inside a transaction whose search_path is
the city's schema, and the schema's name. Offline: renders the upgrade of every city at one
version as plain SQL. Either way, migrations name no schema."""
from alembic import context

from tenants.db import db


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name != "alembic_version" and (obj.schema is None if not reflected else True)
    return True


if context.is_offline_mode():
    # tenants.migrations.render_upgrade: one script of unqualified SQL for every city at the
    # same version, run inside each city's transaction with its search_path set.
    context.configure(
        dialect_name="postgresql",
        target_metadata=db.metadata,
        literal_binds=True,
        # The script runs without parameters: '%' must stay as written, not be doubled.
        dialect_opts={"paramstyle": "named"},
        transactional_ddl=False,
    )
else:
    context.configure(
        connection=context.config.attributes["connection"],
        target_metadata=db.metadata,
        include_object=include_object,
        version_table_schema=context.config.attributes["schema"],
        compare_type=True,
    )
with context.begin_transaction():
    context.run_migrations()
