"""The database handle, and how a session is bound to one city.

City tables are declared without a schema. A session bound to a city runs every statement
through an engine view whose `schema_translate_map` puts the city's schema into the compiled SQL,
and every transaction it begins starts with `SET LOCAL ROLE <city role>` and
`SET LOCAL search_path` (both end with the transaction, so nothing stays on the pooled
connection; safe behind PgBouncer in transaction mode). With no city bound, touching a city
table raises `TenantNotBound`: there is no fallback schema.
"""
import logging
from functools import lru_cache

import sqlalchemy as sa
from flask import Flask, g, has_app_context, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

PLATFORM_SCHEMA = "platform"

# Every transaction of a city session starts with this (one round trip).
ENTER_CITY_SQL = (
    "SELECT set_config('search_path', %(search_path)s, true), set_config('role', %(role)s, true)"
)


class TenantNotBound(RuntimeError):
    """City data was touched with no city bound: bind one with `tenants.context.tenant_context`
    (commands, jobs, tests) or reach it through the city's host (requests)."""


class Base(DeclarativeBase):
    # Deterministic constraint names: a provisioned city and a migrated one name them alike.
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


def is_city_table(table: sa.Table) -> bool:
    return table.schema is None


def city_tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [table for table in metadata.sorted_tables if is_city_table(table)]


# With no city bound, city tables compile into this schema, which never exists: a statement
# that slips past `get_bind` still fails instead of finding tables on the search_path.
NO_CITY_SCHEMA = "no_city_bound"


@lru_cache(maxsize=64)
def unbound_engine(engine: sa.Engine) -> sa.Engine:
    return engine.execution_options(schema_translate_map={None: NO_CITY_SCHEMA})


@lru_cache(maxsize=8192)
def city_engine(engine: sa.Engine, schema: str, role: str) -> sa.Engine:
    """A view of the one shared engine (same pool) that compiles city tables into `schema`."""
    return engine.execution_options(
        schema_translate_map={None: schema}, civic_city={"search_path": f'"{schema}"', "role": role}
    )


def _mapped_table(mapper, clause):
    if mapper is not None:
        return sa.inspect(mapper).local_table
    if isinstance(clause, sa.Table):
        return clause
    if isinstance(clause, sa.sql.dml.UpdateBase) and isinstance(clause.table, sa.Table):
        return clause.table
    return None


class TenantSession(Session):
    """One session serves one city (its identity map must never mix two cities' rows):
    Flask-SQLAlchemy scopes sessions by application context, and `tenant_context` pushes a new
    one for every city it binds."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is not None:
            return bind
        engine = self._db.engine
        tenant = g.get("tenant") if has_app_context() else None
        if tenant is not None:
            return city_engine(engine, tenant.schema, tenant.db_role)
        table = _mapped_table(mapper, clause)
        if table is not None and is_city_table(table):
            raise TenantNotBound(
                f"the table {table.name!r} belongs to a city, but no city is bound; "
                "use tenants.context.tenant_context(city) or a request on the city's host"
            )
        return unbound_engine(engine)


# connection.info: nothing but SELECTs has run in the session's current transaction on it.
_ONLY_READ = "civic_only_read"
# session.info: the connections of the session's current transaction.
_CONNECTIONS = "civic_connections"
# g: the request was a GET or HEAD that raised nothing; its transaction may end in a COMMIT.
_READING_REQUEST = "civic_reading_request"


@event.listens_for(TenantSession, "after_begin")
def _enter_city(session, transaction, connection):
    if transaction.nested:
        # A savepoint: its enclosing transaction entered the city on this connection before
        # it began, and SET LOCAL holds until that transaction ends (a savepoint's rollback
        # undoes only what was set after it).
        return
    connection.info[_ONLY_READ] = True
    session.info.setdefault(_CONNECTIONS, []).append(connection)
    city = connection.get_execution_options().get("civic_city")
    if city is not None:
        connection.exec_driver_sql(ENTER_CITY_SQL, city)


@event.listens_for(TenantSession, "after_transaction_end")
def _forget_connections(session, transaction):
    if transaction.parent is None:
        session.info.pop(_CONNECTIONS, None)


def _is_select(statement: str, context) -> bool:
    """A statement that reads only: a compiled SELECT, or the city's SET LOCALs. Anything else
    (DML, DDL, text and driver SQL such as pg_notify, SAVEPOINTs) counts as a write."""
    if statement == ENTER_CITY_SQL:
        return True
    compiled = getattr(context, "compiled", None)
    return compiled is not None and isinstance(
        compiled.statement, (sa.sql.Select, sa.sql.CompoundSelect))


@event.listens_for(sa.Engine, "before_cursor_execute")
def _note_write(connection, cursor, statement, parameters, context, executemany):
    if not _is_select(statement, context):
        connection.info[_ONLY_READ] = False


@event.listens_for(sa.Engine, "handle_error")
def _note_error(context):
    if context.connection is not None:  # an aborted transaction must roll back
        context.connection.info[_ONLY_READ] = False


def only_read(session: Session) -> bool:
    """The session's transaction has no pending change, wrote nothing and met no error."""
    return not (session.new or session.dirty or session.deleted) and all(
        connection.info.get(_ONLY_READ) for connection in session.info.get(_CONNECTIONS, ()))


def _note_reading_request(error):
    if error is None and request.method in ("GET", "HEAD"):
        setattr(g, _READING_REQUEST, True)


def _commit_reading_transaction(error):
    """A GET's transaction that only read ends in a COMMIT, not the ROLLBACK the session's
    removal sends next: psycopg forgets its prepared statements at every ROLLBACK, so with
    only ROLLBACKs no statement ever reached its prepare_threshold. A transaction that wrote,
    failed or has pending changes is left to that ROLLBACK."""
    if error is not None or not g.pop(_READING_REQUEST, False) or not db.session.registry.has():
        return
    session = db.session()
    if session.in_transaction() and only_read(session):
        try:
            session.commit()
        except sa.exc.SQLAlchemyError:  # e.g. the connection died: nothing was written
            log.warning("could not commit a read-only transaction; rolling back", exc_info=True)


db = SQLAlchemy(model_class=Base, session_options={"class_": TenantSession})


def init_app(app: Flask) -> None:
    """After Flask-SQLAlchemy's init_app: app-context teardowns run last-registered first, so
    the COMMIT comes before its session removal."""
    db.init_app(app)
    app.teardown_request(_note_reading_request)
    app.teardown_appcontext(_commit_reading_transaction)


def execute_statements(connection, statements) -> None:
    """Run SQL statements without parameters, each one sent as a statement of its own but all
    pipelined, so they cost one round trip as a script would. Never as one script: Citus sends
    a DDL statement's whole query string on to the workers, where several commands in one
    message are refused ("cannot insert multiple commands into a prepared statement").
    `connection`: a SQLAlchemy Connection (inside its transaction) or a psycopg connection.
    Errors are raised as psycopg's own."""
    driver = (connection.connection.driver_connection if isinstance(connection, sa.Connection)
              else connection)
    with driver.pipeline(), driver.cursor() as cursor:
        for statement in statements:
            # Never prepared: the same DDL text runs in every city's schema.
            cursor.execute(statement, prepare=False)
