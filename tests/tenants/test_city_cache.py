"""The city cache: a GET reads a city's branding and modules without asking the database, and a
change committed in another process reaches this one through the notification."""
import logging
import time

import sqlalchemy as sa

from app.branding.models import Branding
from tenants.city_cache import RECONNECT_SECONDS, CityCache
from tenants.context import tenant_context
from tenants.db import db
from tests.support.apps import another_app, app_config
from tests.support.servers import free_port


def _tagline(app, host):
    client = app.test_client()
    return client.get("/", headers={"Host": host}).get_data(as_text=True)


def test_a_change_committed_by_another_process_reaches_the_cached_pages(
        database_url, outbox_dir, make_city):
    city = make_city("cached", locale="en")
    host = city.domains[0]
    config = app_config(database_url, outbox_dir)
    with another_app(config) as reader, another_app(config) as writer:
        statements = []
        with reader.app_context():
            sa.event.listen(db.engine, "before_cursor_execute",
                            lambda *args: statements.append(args[2]))
        _tagline(reader, host)
        # The listener's start drops every entry (it may have missed a change): wait for it,
        # load once more, and only then expect the cache to answer.
        assert reader.extensions["city_cache"].listening.wait(10)
        _tagline(reader, host)
        statements.clear()
        _tagline(reader, host)
        assert not any("branding" in s or "FROM modules" in s for s in statements)
        with tenant_context(city, writer):
            row = db.session.get(Branding, 1) or Branding(id=1)
            row.tagline = "Fresh tagline from the writer"
            db.session.add(row)
            db.session.commit()
        for _ in range(100):  # the notification arrives within moments
            if "Fresh tagline from the writer" in _tagline(reader, host):
                break
            reader.extensions["city_cache"]._closed.wait(0.1)
        assert "Fresh tagline from the writer" in _tagline(reader, host)


def test_an_unreachable_database_is_said_once_without_a_traceback(caplog):
    """The listener tries again every second while the database is away: one line says so,
    not a traceback a second (formatting tracebacks in a background thread also races
    ast.parse in others on CPython 3.11)."""
    cache = CityCache(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", max_age=60)
    with caplog.at_level(logging.WARNING, logger="tenants.city_cache"):
        cache.version("any")  # starts the listener
        time.sleep(RECONNECT_SECONDS * 2.5)  # three tries at least
        cache.close()
    said = [record for record in caplog.records if record.name == "tenants.city_cache"]
    assert len(said) == 1 and "listening failed" in said[0].getMessage()
    assert said[0].exc_info is None
    assert not cache.listening.is_set()
