"""Which city answers at which host, held in every process.

Looking a host up costs no database round trip. A daemon thread (started on first use, so after
a pre-forking server has forked) polls `platform.directory_state.version` every
TENANT_DIRECTORY_REFRESH_SECONDS and reloads the whole directory when it has moved, so a
suspension, a retirement or a new domain reaches every worker process within that interval.
Retired cities stay in the directory (the CLI lists and migrates them); routing and
`tenant_context` refuse them.
"""
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from tenants.db import db
from tenants.naming import strip_port

log = logging.getLogger(__name__)

# The one query a TenantInfo is made from (its domains in the order given: the first is the
# primary one).
_CITIES_SQL = (
    "SELECT t.id, t.slug, t.name, t.name_zh, t.status, t.schema_name, t.db_role, t.locale, "
    "t.timezone, array(SELECT d.host FROM platform.tenant_domains d WHERE d.tenant_id = t.id "
    "ORDER BY d.id), t.retired_at, t.purge_after, t.maintenance, t.plan "
    "FROM platform.tenants t"
)
_ALL_CITIES_SQL = sa.text(_CITIES_SQL)
_ONE_CITY_SQL = sa.text(_CITIES_SQL + " WHERE t.slug = :slug")
_ONE_CITY_LOCKED_SQL = sa.text(_CITIES_SQL + " WHERE t.slug = :slug FOR UPDATE OF t")
_VERSION_SQL = sa.text("SELECT version FROM platform.directory_state WHERE id = 1")


@dataclass(frozen=True)
class TenantInfo:
    """What a request, command or job needs to know of a city, without asking the database."""

    id: int
    slug: str
    name: str
    name_zh: str
    status: str
    schema: str
    db_role: str
    locale: str
    timezone: str
    domains: tuple[str, ...]
    # Set while the city is retired: when, and from when `flask tenants purge` may drop it.
    retired_at: datetime | None = None
    purge_after: datetime | None = None
    # Maintenance mode: the city's site is read-only for citizens (app/maintenance.py).
    maintenance: bool = False
    plan: str | None = None  # the key of its plan (platform.plans), None: not limited

    def display_name(self, locale: str) -> str:
        return self.name_zh if str(locale).startswith("zh") else self.name


def read_cities(connection, slug: str | None = None, lock: bool = False) -> list[TenantInfo]:
    """The cities as the platform's tables hold them now: all of them, or the one of `slug`
    (held FOR UPDATE until the transaction ends when `lock`)."""
    if slug is None:
        rows = connection.execute(_ALL_CITIES_SQL)
    else:
        rows = connection.execute(_ONE_CITY_LOCKED_SQL if lock else _ONE_CITY_SQL,
                                  {"slug": slug})
    return [TenantInfo(*row[:9], domains=tuple(row[9]), retired_at=row[10],
                       purge_after=row[11], maintenance=row[12], plan=row[13]) for row in rows]


class TenantDirectory:
    def __init__(self, engine: sa.Engine, refresh_seconds: float):
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._by_host: dict[str, TenantInfo] = {}
        self._by_slug: dict[str, TenantInfo] = {}
        self._version: int | None = None
        self._stale = True
        # Counts mark_stale calls, so that a reload which began before one cannot clear it.
        self._stale_marks = 0
        self._lock = threading.Lock()
        self._reloading = threading.Lock()
        self._poller: threading.Thread | None = None
        self._closed = threading.Event()

    def lookup_host(self, host: str) -> TenantInfo | None:
        self._ensure_loaded()
        return self._by_host.get(strip_port(host))

    def get(self, slug: str) -> TenantInfo | None:
        self._ensure_loaded()
        return self._by_slug.get(slug)

    def all(self) -> list[TenantInfo]:
        self._ensure_loaded()
        return sorted(self._by_slug.values(), key=lambda tenant: tenant.slug)

    def mark_stale(self) -> None:
        """This process changed a city: reload before the next lookup instead of waiting."""
        with self._lock:
            self._stale_marks += 1
            self._stale = True

    def refresh(self) -> None:
        """Reload if the platform's directory version moved (or the directory is stale).

        Reloads take turns, so an older read never replaces a newer one, and a reload stays
        stale if this process changed a city while it was reading."""
        with self._reloading:
            marks_before = self._stale_marks
            with self._engine.connect() as connection:
                version = connection.execute(_VERSION_SQL).scalar_one()
                if version == self._version and not self._stale:
                    return
                tenants = read_cities(connection)
            by_host = {host: tenant for tenant in tenants for host in tenant.domains}
            with self._lock:
                self._by_host, self._by_slug = by_host, {t.slug: t for t in tenants}
                self._version = version
                self._stale = self._stale_marks != marks_before

    def _ensure_loaded(self) -> None:
        if self._stale:
            self.refresh()
        if self._poller is None and self._refresh_seconds > 0:
            with self._lock:
                if self._poller is None:
                    self._poller = threading.Thread(
                        target=self._poll, name="tenant-directory", daemon=True
                    )
                    self._poller.start()

    def close(self) -> None:
        """Stop the polling thread (tests, and processes that outlive their database)."""
        self._closed.set()

    def _poll(self) -> None:
        unreachable = False  # said once per outage, not at every poll
        while not self._closed.wait(self._refresh_seconds):
            try:
                self.refresh()
            except sa.exc.OperationalError as error:  # keep serving the last directory
                if not unreachable:
                    log.warning("tenant directory: the database cannot be reached (%s); "
                                "serving the last directory until it answers", error.orig)
                unreachable = True
            except Exception:  # a fault of ours: its traceback, and the next poll retries
                log.exception("tenant directory refresh failed")
            else:
                if unreachable:
                    log.warning("tenant directory: the database answers again")
                unreachable = False


def init_app(app) -> None:
    with app.app_context():
        engine = db.engine  # creating the engine opens no connection
    app.extensions["tenant_directory"] = TenantDirectory(
        engine, app.config["TENANT_DIRECTORY_REFRESH_SECONDS"]
    )
