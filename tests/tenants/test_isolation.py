"""Isolation: one city's code never sees or writes another city's rows, whatever happens on
the shared connections (threads, failures, rollbacks, savepoints), and the database itself
refuses cross-city reads."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, ProgrammingError

from app import create_app
from app.audit.models import AuditEntry
from app.branding.models import Branding
from tenants.context import current_tenant, tenant_context
from tenants.db import ENTER_CITY_SQL, TenantNotBound, db

CONNECTION_STATE = sa.text(
    "SELECT current_user, session_user, current_setting('search_path'), "
    "current_setting('role')"
)


def add_entries(app, tenant, actor: str, count: int) -> list[int]:
    with tenant_context(tenant, app):
        entries = [AuditEntry(actor=actor, action="test.isolation") for _ in range(count)]
        db.session.add_all(entries)
        db.session.commit()
        return [entry.id for entry in entries]


def actors_seen(app, tenant) -> set[str]:
    with tenant_context(tenant, app):
        return set(db.session.scalars(sa.select(AuditEntry.actor)))


def test_overlapping_primary_keys_stay_apart(app, make_city):
    one, two = make_city("overlap"), make_city("overlap")
    ids_one = add_entries(app, one, "one", 3)
    ids_two = add_entries(app, two, "two", 3)
    assert ids_one == ids_two  # both cities number their rows from 1
    assert actors_seen(app, one) == {"one"}
    assert actors_seen(app, two) == {"two"}
    with tenant_context(one, app):
        assert db.session.get(AuditEntry, ids_one[0]).actor == "one"


def test_raw_sql_in_one_city_cannot_read_another_or_the_platform(app, cities):
    alpha, beta = cities["alpha"], cities["beta"]
    add_entries(app, beta, "beta-secret", 1)
    with app.app_context(), tenant_context(alpha):
        user, _, search_path, _ = db.session.execute(CONNECTION_STATE).one()
        assert user == alpha.db_role and search_path == f'"{alpha.schema}"'
        # unqualified raw SQL reads the bound city's own table
        assert "beta-secret" not in db.session.scalars(
            sa.text("SELECT actor FROM audit_log")).all()
        for foreign in (f"{beta.schema}.audit_log", "platform.tenants"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                db.session.execute(sa.text(f"SELECT * FROM {foreign}"))
            db.session.rollback()
        # the city role can't even resolve names in another city's schema
        with pytest.raises(ProgrammingError, match='relation "audit_log" does not exist'):
            db.session.execute(sa.text(f"SET LOCAL search_path TO {beta.schema}; "
                                       "INSERT INTO audit_log (actor, action) VALUES ('x', 'y')"))
        db.session.rollback()
    assert "x" not in actors_seen(app, beta)


def test_city_data_with_no_city_bound_raises(app_context):
    with pytest.raises(TenantNotBound, match="no city is bound"):
        db.session.get(Branding, 1)
    with pytest.raises(TenantNotBound):
        db.session.scalars(sa.select(AuditEntry)).all()
    with pytest.raises(TenantNotBound):
        current_tenant()
    # a Core statement that slips past the ORM check still finds no schema to fall back to
    with pytest.raises(ProgrammingError, match="no_city_bound"):
        db.session.execute(sa.select(AuditEntry.__table__)).all()
    db.session.rollback()


@pytest.fixture(scope="module")
def one_connection_app(database_url, cities):
    """The same application with a pool of exactly one connection: every transaction of every
    city, and every platform query, runs on the same server connection, as behind PgBouncer in
    transaction mode."""
    return create_app({
        "CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": database_url,
        "PLATFORM_HOST": "platform.test", "TENANT_DIRECTORY_REFRESH_SECONDS": 0,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30},
    })


def plain_state(app):
    """The shared connection's state, seen with no city bound."""
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(CONNECTION_STATE).one()


def test_nothing_stays_on_the_connection_after_commit_rollback_or_error(one_connection_app,
                                                                        cities):
    app, alpha, beta = one_connection_app, cities["alpha"], cities["beta"]
    clean = plain_state(app)
    assert clean.current_user == clean.session_user
    with app.app_context():
        with tenant_context(alpha):
            db.session.add(AuditEntry(actor="committed", action="test"))
            db.session.commit()
        assert plain_state(app) == clean
        # a block that fails half-way: its write is rolled back, nothing stays behind
        with pytest.raises(RuntimeError), tenant_context(alpha):
            db.session.add(AuditEntry(actor="half-way", action="test"))
            db.session.flush()
            raise RuntimeError("the request failed after writing")
        assert plain_state(app) == clean
        # a database error, then the same session goes on: the city is re-entered
        with tenant_context(beta):
            db.session.add(Branding(id=1, primary_color="#GGGGGG"))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
            assert db.session.execute(CONNECTION_STATE).one().current_user == beta.db_role
        assert plain_state(app) == clean
    assert "half-way" not in actors_seen(app, alpha)


def test_the_city_survives_commits_and_savepoint_rollbacks(one_connection_app, cities):
    app, alpha = one_connection_app, cities["alpha"]
    with app.app_context(), tenant_context(alpha):
        db.session.add(AuditEntry(actor="before-savepoint", action="test"))
        db.session.commit()
        # after a commit the next transaction is bound to the city again (SQLAlchemy #10322)
        assert db.session.execute(CONNECTION_STATE).one().current_user == alpha.db_role
        savepoint = db.session.begin_nested()
        db.session.add(AuditEntry(actor="rolled-back", action="test"))
        db.session.flush()
        savepoint.rollback()
        state = db.session.execute(CONNECTION_STATE).one()
        assert (state.current_user, state[2]) == (alpha.db_role, f'"{alpha.schema}"')
        db.session.add(AuditEntry(actor="after-savepoint", action="test"))
        db.session.commit()
    seen = actors_seen(app, alpha)
    assert {"before-savepoint", "after-savepoint"} <= seen and "rolled-back" not in seen


def test_a_savepoint_holds_the_city_without_entering_it_again(one_connection_app, cities):
    """SET LOCAL lasts until the enclosing transaction ends: a savepoint needs no round trip
    of its own to be in the city."""
    app, alpha = one_connection_app, cities["alpha"]
    sent = []

    def record(_connection, _cursor, statement, *_args):
        sent.append(statement)

    with app.app_context(), tenant_context(alpha):
        db.session.execute(sa.text("SELECT 1"))
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with db.session.begin_nested():
                inside = db.session.execute(CONNECTION_STATE).one()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        db.session.rollback()
    assert (inside.current_user, inside[2]) == (alpha.db_role, f'"{alpha.schema}"')
    assert sent and ENTER_CITY_SQL not in sent


def test_nested_city_contexts_each_get_their_own_session(app, cities):
    alpha, beta = cities["alpha"], cities["beta"]
    add_entries(app, alpha, "alpha-nested", 1)
    add_entries(app, beta, "beta-nested", 1)
    with app.app_context(), tenant_context(alpha):
        outer = db.session()
        with tenant_context(beta):
            assert db.session() is not outer
            assert "alpha-nested" not in set(db.session.scalars(sa.select(AuditEntry.actor)))
        assert current_tenant() == alpha
        assert db.session() is outer
        assert "beta-nested" not in set(db.session.scalars(sa.select(AuditEntry.actor)))


def test_concurrent_work_for_many_cities_through_one_small_pool(database_url, cities, make_city):
    """Eight threads, three cities, a pool of three connections: every read returns only the
    reading city's rows and every write lands in the writing city."""
    app = create_app({
        "CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": database_url,
        "PLATFORM_HOST": "platform.test", "TENANT_DIRECTORY_REFRESH_SECONDS": 0,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3, "max_overflow": 0, "pool_timeout": 60},
    })
    towns = [make_city("busy") for _ in range(3)]
    errors, start = [], threading.Barrier(8)

    def work(worker: int):
        start.wait()
        for round_ in range(25):
            town = towns[(worker + round_) % len(towns)]
            try:
                with app.app_context(), tenant_context(town):
                    db.session.add(AuditEntry(actor=town.slug, action=f"w{worker}"))
                    if round_ % 5 == 4:  # some work fails half-way and is rolled back
                        db.session.flush()
                        db.session.rollback()
                        continue
                    db.session.commit()
                    actors = set(db.session.scalars(sa.select(AuditEntry.actor)))
                    if actors != {town.slug}:
                        errors.append((town.slug, actors))
            except Exception as error:  # collected: assertions in threads would be lost
                errors.append(error)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert errors == []
    with app.app_context():
        counts = []
        for town in towns:
            with tenant_context(town):
                counts.append(db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))
    assert sum(counts) == 8 * 20  # 25 rounds, every fifth rolled back


def test_concurrent_requests_to_different_cities(app, cities):
    alpha, beta = cities["alpha"], cities["beta"]
    colours = {"alpha.test": "#aa0000", "beta.test": "#0000aa"}
    for tenant, colour in ((alpha, "#aa0000"), (beta, "#0000aa")):
        with app.app_context(), tenant_context(tenant):
            db.session.merge(Branding(id=1, primary_color=colour))
            db.session.commit()

    def fetch(i: int):
        host = ("alpha.test", "beta.test")[i % 2]
        body = app.test_client().get("/", headers={"Host": host}).get_data(as_text=True)
        other = colours["beta.test" if host == "alpha.test" else "alpha.test"]
        return colours[host] in body and other not in body

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fetch, range(80)))
    assert all(results)
