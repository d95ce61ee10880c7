"""Per-process copies of what every page of a city reads and what rarely changes (its branding,
its modules and their settings, its pinned announcement), so that a page asks the database for
its own data only.

Invalidation by version: each city has a version in each process; an entry is used only while
the version it was loaded at is the city's. A transaction that changes a watched table (through
the ORM: a flush, or an ORM UPDATE/DELETE) sends `pg_notify('civic_city_cache', <slug>)`, which
PostgreSQL delivers at commit, never on rollback; every process listens on a connection of its
own (a daemon thread started on first use, so after a pre-forking server has forked) and moves
the city's version on. The process that committed moves it at once, so whoever saved sees the
change on their next page; other processes see it within the notification's latency. When the
listening connection is lost every version moves on (a notification may have been missed) and
the thread connects again. Entries older than CITY_CACHE_SECONDS are loaded again anyway: the
bound on what a write from outside the app (psql) leaves stale. CITY_CACHE_SECONDS=0 turns the
cache off (every read goes to the database).
"""
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import psycopg
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event

from tenants.db import TenantSession

log = logging.getLogger(__name__)

CHANNEL = "civic_city_cache"
_NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', %(slug)s)"
_LISTEN_SQL = f"LISTEN {CHANNEL}"
_CHANGED = "city_cache_changed"  # session.info: the slug whose watched tables changed
RECONNECT_SECONDS = 1.0
_MISSING = object()

# The tables (names, in every city's schema) whose changes invalidate a city's entries.
WATCHED_TABLES: set[str] = set()


def watch(*tables: str) -> None:
    """A cached value is made from these tables: a change to them invalidates the city's
    entries (call at import time)."""
    WATCHED_TABLES.update(tables)


class CityCache:
    def __init__(self, conninfo: str, max_age: float):
        self._conninfo = conninfo
        self.max_age = max_age
        self._versions: dict[str, int] = {}
        self._entries: dict[tuple[str, Hashable], tuple[int, float, Any]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()
        self.listening = threading.Event()  # set while notifications are being received

    def get(self, slug: str, key: str, load: Callable[[], Any]) -> Any:
        """The city's value `key`, from `load()` when absent, outdated or too old. `load` runs
        in the caller's context (the city bound) and its value must not be changed afterwards:
        every request of this process shares it."""
        if not self.enabled:
            return load()
        version = self.version(slug)
        found = self.lookup(slug, key, _MISSING)
        if found is not _MISSING:  # None is a value too (no pinned announcement)
            return found
        value = load()
        self.store(slug, key, version, value)
        return value

    @property
    def enabled(self) -> bool:
        return self.max_age > 0

    def version(self, slug: str) -> int:
        """The city's version now: take it before loading a value, and store the value with
        it, so a change committed meanwhile makes the value outdated at once."""
        self._ensure_listening()
        return self._versions.get(slug, 0)

    def lookup(self, slug: str, key: Hashable, default: Any = None) -> Any:
        """The city's value `key` if it is there, current and young enough; else `default`."""
        entry = self._entries.get((slug, key))
        if entry is not None and entry[0] == self._versions.get(slug, 0) and \
                time.monotonic() - entry[1] < self.max_age:
            return entry[2]
        return default

    def store(self, slug: str, key: Hashable, version: int, value: Any) -> None:
        self._entries[(slug, key)] = (version, time.monotonic(), value)

    def invalidate(self, slug: str) -> None:
        with self._lock:
            self._versions[slug] = self._versions.get(slug, 0) + 1

    def invalidate_all(self) -> None:
        with self._lock:
            for slug in {slug for slug, _key in self._entries} | set(self._versions):
                self._versions[slug] = self._versions.get(slug, 0) + 1

    def close(self) -> None:
        self._closed.set()

    def _ensure_listening(self) -> None:
        if self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._listener = threading.Thread(target=self._listen, name="city-cache",
                                                      daemon=True)
                    self._listener.start()

    def _listen(self) -> None:
        failed = False  # said once per outage, not at every try
        while not self._closed.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(_LISTEN_SQL)
                    # Whatever changed while nobody listened is unknown: start afresh.
                    self.invalidate_all()
                    self.listening.set()
                    if failed:
                        log.warning("city cache: listening again")
                    failed = False
                    while not self._closed.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self.invalidate(notice.payload)
            except psycopg.Error as error:
                self.listening.clear()
                if not failed:
                    # The error's message says it all; no traceback (formatting one in this
                    # thread races ast.parse in others on CPython 3.11, python/cpython#106905).
                    log.warning("city cache: listening failed (%s); every entry is dropped "
                                "until it listens again", error)
                failed = True
                self.invalidate_all()
                self._closed.wait(RECONNECT_SECONDS)


def reading_request() -> bool:
    """A GET or HEAD request: what it reads may come from the cache (a change is made by other
    methods, commands and jobs, which read what they change from the database)."""
    return has_request_context() and request.method in ("GET", "HEAD")


def city_cache(app: Flask | None = None) -> CityCache:
    return (app or current_app).extensions["city_cache"]


def cached(key: str, load: Callable[[], Any]) -> Any:
    """The bound city's value `key` (tenants.context binds it), loaded by `load()` if needed."""
    return city_cache().get(g.tenant.slug, key, load)


def _bound_slug() -> str | None:
    tenant = g.get("tenant") if has_app_context() else None
    return tenant.slug if tenant is not None else None


def _announce_change(session, connection=None) -> None:
    slug = _bound_slug()
    if slug is None or session.info.get(_CHANGED) == slug:
        return
    session.info[_CHANGED] = slug
    (connection or session.connection()).exec_driver_sql(_NOTIFY_SQL, {"slug": slug})


@event.listens_for(TenantSession, "after_flush")
def _after_flush(session, flush_context):
    if any(getattr(getattr(instance, "__table__", None), "name", None) in WATCHED_TABLES
           for instance in (*session.new, *session.dirty, *session.deleted)):
        _announce_change(session)


@event.listens_for(TenantSession, "do_orm_execute")
def _orm_execute(state):
    if (state.is_update or state.is_delete or state.is_insert) and \
            getattr(state.statement.table, "name", None) in WATCHED_TABLES:
        _announce_change(state.session)


@event.listens_for(TenantSession, "after_commit")
def _after_commit(session):
    slug = session.info.pop(_CHANGED, None)
    if slug is not None and has_app_context() and "city_cache" in current_app.extensions:
        city_cache().invalidate(slug)


@event.listens_for(TenantSession, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    session.info.pop(_CHANGED, None)


def init_app(app: Flask, conninfo: str) -> None:
    app.extensions["city_cache"] = CityCache(conninfo, app.config["CITY_CACHE_SECONDS"])
