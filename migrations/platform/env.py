"""Alembic environment of the platform schema. Run from code (`flask platform migrate`), which
passes an open connection in config.attributes["connection"]."""
from alembic import context

from tenants.db import PLATFORM_SCHEMA, db


def include_name(name, type_, parent_names):
    return name == PLATFORM_SCHEMA if type_ == "schema" else True


def include_object(obj, name, type_, reflected, compare_to):
    return obj.schema == PLATFORM_SCHEMA if type_ == "table" else True


if context.is_offline_mode():
    raise SystemExit("offline (SQL) migrations are not supported; use flask platform migrate")

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=db.metadata,
    include_schemas=True,
    include_name=include_name,
    include_object=include_object,
    version_table_schema=PLATFORM_SCHEMA,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
