"""The host -> city directory: no database round trip per lookup, changes seen within seconds."""
import logging
import threading
import time

import sqlalchemy as sa

from tenants.db import db
from tenants.directory import TenantDirectory
from tenants.provisioning import set_status
from tests.support.servers import free_port


def test_lookups_ignore_port_and_case_and_cost_no_query(app, cities):
    directory = app.extensions["tenant_directory"]
    directory.lookup_host("warm.up")
    with app.app_context():
        engine = db.engine
    statements, this_thread = [], threading.get_ident()

    def count(*args):
        if threading.get_ident() == this_thread:  # not the directory's polling thread
            statements.append(args)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        found = [directory.lookup_host(host) for host in
                 ("alpha.test", "ALPHA.test:5000", "www.beta.test", "beta.test.", "nowhere.test")]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [t.slug if t else None for t in found] == ["alpha", "alpha", "beta", "beta", None]
    assert statements == []


def test_another_process_sees_a_suspension_within_its_refresh_interval(app, make_city):
    """A second directory stands for another worker process: it learns of the change only
    through its own polling thread."""
    tenant = make_city("watched")
    with app.app_context():
        other_worker = TenantDirectory(db.engine, refresh_seconds=0.5)
    assert other_worker.lookup_host(tenant.domains[0]).status == "active"
    with app.app_context():
        set_status(tenant.slug, "suspended")
    deadline = time.monotonic() + 5
    while other_worker.lookup_host(tenant.domains[0]).status != "suspended":
        assert time.monotonic() < deadline, "the suspension did not arrive within 5 seconds"
        time.sleep(0.1)
    other_worker.close()


def test_a_new_domain_added_outside_the_app_arrives_too(app, make_city):
    tenant = make_city("grown")
    with app.app_context():
        other_worker = TenantDirectory(db.engine, refresh_seconds=0.5)
        assert other_worker.lookup_host("new-name.grown.test") is None
        with db.engine.begin() as connection:  # the trigger bumps the version for any writer
            connection.execute(sa.text(
                "INSERT INTO platform.tenant_domains (tenant_id, host) VALUES (:id, :host)"),
                {"id": tenant.id, "host": "new-name.grown.test"})
    deadline = time.monotonic() + 5
    while other_worker.lookup_host("new-name.grown.test") is None:
        assert time.monotonic() < deadline, "the new domain did not arrive within 5 seconds"
        time.sleep(0.1)
    assert other_worker.lookup_host("new-name.grown.test").slug == tenant.slug
    other_worker.close()


def test_a_change_marked_while_a_reload_reads_is_not_lost(app, make_city):
    """The polling thread may be reading the cities when this process changes one: its older
    read must not clear the mark, or the change stays unseen until the version moves again."""
    tenant = make_city("raced")
    with app.app_context():
        engine = db.engine
        directory = TenantDirectory(engine, refresh_seconds=0)  # reloads only when asked
    assert directory.lookup_host(tenant.domains[0]).status == "active"
    read_done, changed = threading.Event(), threading.Event()

    def hold_after_reading_cities(conn, cursor, statement, *args):
        if "FROM platform.tenants t" in statement and threading.current_thread() is reader:
            read_done.set()
            changed.wait(10)

    reader = threading.Thread(target=directory.refresh)
    sa.event.listen(engine, "after_cursor_execute", hold_after_reading_cities)
    try:
        directory.mark_stale()
        reader.start()
        assert read_done.wait(10), "the reload did not read the cities"
        with app.app_context():
            set_status(tenant.slug, "suspended")
        directory.mark_stale()
        changed.set()
        reader.join(10)
    finally:
        sa.event.remove(engine, "after_cursor_execute", hold_after_reading_cities)
    assert directory.lookup_host(tenant.domains[0]).status == "suspended"


def test_an_unreachable_database_is_said_once_per_outage_without_a_traceback(caplog):
    """The poller keeps serving the last directory: one line when the database goes away,
    one when it answers again, not a traceback at every poll."""
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    directory = TenantDirectory(engine, refresh_seconds=0.1)
    poller = threading.Thread(target=directory._poll, daemon=True)
    with caplog.at_level(logging.WARNING, logger="tenants.directory"):
        poller.start()
        time.sleep(1)  # about ten polls
        directory.close()
        poller.join(5)
    said = [record for record in caplog.records if record.name == "tenants.directory"]
    assert len(said) == 1 and "cannot be reached" in said[0].getMessage()
    assert said[0].exc_info is None
    engine.dispose()
