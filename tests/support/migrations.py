"""A city schema built by the tenant tree's migrations, for tests of the migrations themselves."""
from contextlib import contextmanager

from alembic import command

from tenants.db import db
from tenants.migrations import TENANT_TREE, alembic_config


@contextmanager
def tenant_schema_at(schema: str, revision: str):
    """The schema `schema` migrated to `revision` (in an app context), on a connection whose
    transaction is rolled back afterwards: yields (connection, the Alembic config to upgrade or
    downgrade it further)."""
    with db.engine.connect() as connection, connection.begin() as transaction:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"; SET LOCAL search_path TO {schema}')
        config = alembic_config(TENANT_TREE)
        config.attributes.update(connection=connection, schema=schema)
        command.upgrade(config, revision)
        try:
            yield connection, config
        finally:
            transaction.rollback()
