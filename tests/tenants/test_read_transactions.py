"""How a request's transaction ends (tenants/db.py): a GET that only read COMMITs, so psycopg's
prepared statements take effect; a GET that wrote without committing, or met an error, rolls
back. And with no pool pre-ping, pooled connections that died cost one request, not more."""
import uuid

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError

from app.audit.models import AuditEntry
from app.modules import configure
from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tenants.statement_trace import StatementTrace
from tests.support.apps import another_app, app_config

LIST = "/announcements/?page=1"  # a query string: never a kept page (page_cache.py)


def quiet_config(database_url, outbox_dir, **changes):
    """The tests' configuration, with a directory that loads once and then stays quiet: its
    poller shares the engine whose statements and transactions these tests count."""
    return app_config(database_url, outbox_dir, TENANT_DIRECTORY_REFRESH_SECONDS=3600,
                      **changes)


@pytest.fixture()
def city(app, make_city):
    town = make_city("reads", locale="en")
    with tenant_context(town, app):
        configure(enable=("announcements",))
        db.session.add(Announcement(title="Water", title_zh="停水", body="Tuesday",
                                    published_at=sa.func.now()))
        db.session.commit()
    return town


@pytest.fixture()
def one_connection_app(database_url, outbox_dir):
    """An app whose pool is one connection, so every request meets the same one."""
    config = quiet_config(database_url, outbox_dir,
                          SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    with another_app(config) as app:
        yield app


def test_a_page_that_only_reads_commits_and_its_statements_get_prepared(
        one_connection_app, city):
    app, host = one_connection_app, city.domains[0]
    with app.app_context():
        trace = StatementTrace(db.engine)
    client = app.test_client()
    for _ in range(8):  # past psycopg's prepare_threshold (5)
        assert client.get(LIST, headers={"Host": host}).status_code == 200
    start = trace.mark()
    assert "Water" in client.get(LIST, headers={"Host": host}).get_data(as_text=True)
    sent = trace.statements(start)
    # No pre-ping (";"), no ROLLBACK, no DEALLOCATE: BEGIN, the city's SET LOCALs, the list.
    assert sent[0] == "BEGIN" and sent[-1] == "COMMIT", sent
    assert len(sent) == 4 and "announcements" in sent[2], sent
    with app.app_context(), db.engine.connect() as connection:
        prepared = connection.exec_driver_sql(
            "SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("announcements" in statement for statement in prepared), prepared
    trace.close()


def test_a_get_that_wrote_without_committing_or_failed_rolls_back(database_url, outbox_dir,
                                                                  city):
    actor = f"unsaved-{uuid.uuid4().hex[:8]}"
    with another_app(quiet_config(database_url, outbox_dir)) as app:
        def flushed_not_committed():
            db.session.add(AuditEntry(actor=actor, action="test"))
            db.session.flush()  # written in the transaction, never committed by the view
            return "flushed"

        def failed_and_carried_on():
            try:  # a read that fails; the view swallows the error and answers
                db.session.execute(sa.select(sa.cast(sa.literal("x"), sa.Integer)))
            except DataError:
                pass
            return "failed"

        app.add_url_rule("/test-flushed", "test_flushed", flushed_not_committed)
        app.add_url_rule("/test-failed", "test_failed", failed_and_carried_on)
        endings = []
        with app.app_context():
            for ending in ("commit", "rollback"):
                sa.event.listen(db.engine, ending, lambda _c, ending=ending: endings.append(
                    ending))
        client = app.test_client()
        client.get(LIST, headers={"Host": city.domains[0]})  # the directory's first load
        for path in ("/test-flushed", "/test-failed"):
            endings.clear()
            assert client.get(path, headers={"Host": city.domains[0]}).status_code == 200
            assert endings == ["rollback"], (path, endings)
    with tenant_context(city, app):
        assert db.session.scalar(sa.select(sa.func.count()).where(
            AuditEntry.actor == actor)) == 0


def test_pooled_connections_that_died_cost_one_request(database_url, outbox_dir, city):
    """Without pre-ping a dead connection fails the request that meets it (503, never 500);
    SQLAlchemy then invalidates the whole pool, so the next request connects afresh."""
    host = city.domains[0]
    config = quiet_config(database_url, outbox_dir,
                          SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 3, "max_overflow": 0})
    with another_app(config) as app:
        client = app.test_client()
        assert client.get(LIST, headers={"Host": host}).status_code == 200
        with app.app_context():
            held = [db.engine.connect() for _ in range(3)]  # fill the pool with three
            pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in held]
            for connection in held:
                connection.close()
        with psycopg.connect(database_url, autocommit=True) as admin:
            for pid in pids:
                # ::integer: Citus adds pg_terminate_backend(bigint, bigint), which a bare
                # parameter makes ambiguous.
                admin.execute("SELECT pg_terminate_backend(%s::integer)", (pid,))
        assert client.get(LIST, headers={"Host": host}).status_code in (200, 503)
        assert client.get(LIST, headers={"Host": host}).status_code == 200
