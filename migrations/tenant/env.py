"""Alembic environment of a city schema. Run from code, once per city (`flask tenants migrate`):
config.attributes holds the city's open connection, inside a transaction whose search_path is
the city's schema, and the schema's name. Migrations name no schema."""
from alembic import context

from tenants.db import db


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name != "alembic_version" and (obj.schema is None if not reflected else True)
    return True


if context.is_offline_mode():
    raise SystemExit("offline (SQL) migrations are not supported; use flask tenants migrate")

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=db.metadata,
    include_object=include_object,
    version_table_schema=context.config.attributes["schema"],
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
