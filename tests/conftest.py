"""Fixtures: a fresh PostgreSQL database per test run (on TEST_DATABASE_URL's server, or the
embedded one), the platform schema migrated, and two cities, alpha and beta. When that server
is a Citus coordinator (its `postgres` database has workers registered), the database is
bootstrapped as docs/scaling.md says, and every city is a distributed schema on a worker."""
import contextlib
import email
import email.policy
import itertools
import os
import re

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from app import create_app, embedded_postgres
from tenants import citus
from tenants.migrations import migrate_platform
from tenants.naming import role_prefix
from tenants.provisioning import create_tenant
from tests.support import probe_tasks  # noqa: F401  (declared before any app is made)
from tests.support.apps import app_config


def _server_uri() -> str:
    return os.environ.get("TEST_DATABASE_URL") or embedded_postgres.url(database="postgres")


def _database_uri(server_uri: str, database: str) -> str:
    return make_url(server_uri).set(database=database).render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database(stem: str):
    """A database of its own named `stem`_PID (on every node of a Citus cluster); dropped
    afterwards with every city role made in it."""
    server_uri = _server_uri()
    name = f"{stem}_{os.getpid()}"
    with psycopg.connect(server_uri, autocommit=True) as admin:
        on_citus = bool(citus.registered_nodes(admin)[1])
    citus.drop_database(server_uri, name)  # left by a run of the same pid that died
    with psycopg.connect(server_uri, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        oid = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]
    uri = _database_uri(server_uri, name)
    if on_citus:
        citus.bootstrap(uri)
    try:
        yield uri
    finally:
        citus.drop_database(server_uri, name, role_prefix(oid))


@pytest.fixture(scope="session")
def database_url():
    """This run's own database (fresh_database)."""
    with fresh_database("civic_test") as uri:
        yield uri


@pytest.fixture(scope="session")
def on_citus(database_url) -> bool:
    """Whether this run's database is on a Citus coordinator (TEST_DATABASE_URL)."""
    with psycopg.connect(database_url) as connection:
        return citus.present(connection)


@pytest.fixture()
def requires_citus(on_citus):
    if not on_citus:
        pytest.skip("needs a Citus cluster: make test-citus (TEST_DATABASE_URL=coordinator)")


@pytest.fixture()
def requires_plain_postgresql(on_citus):
    if on_citus:
        pytest.skip("what plain PostgreSQL does; this run is on Citus")


@pytest.fixture(scope="session")
def outbox_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="session")
def app(database_url, outbox_dir):
    app = create_app(app_config(database_url, outbox_dir))
    with app.app_context():
        migrate_platform()
    yield app
    app.extensions["tenant_directory"].close()
    app.extensions["city_cache"].close()


@pytest.fixture()
def app_context(app):
    with app.app_context() as context:
        yield context


@pytest.fixture(scope="session")
def cities(app):
    """Two cities for the whole run: alpha (alpha.test) and beta (beta.test, English)."""
    with app.app_context():
        return {
            "alpha": create_tenant("alpha", "Alpha", ["alpha.test"], name_zh="阿尔法市"),
            "beta": create_tenant("beta", "Beta", ["beta.test", "www.beta.test"],
                                  name_zh="贝塔市", locale="en"),
        }


_slugs = itertools.count(1)


@pytest.fixture()
def new_slug():
    """A slug no other test uses: tests that change a city make their own."""
    return lambda stem="city": f"{stem}-{next(_slugs)}"


@pytest.fixture()
def make_city(app, new_slug):
    def make(stem="city", **options):
        slug = new_slug(stem)
        options.setdefault("domains", [f"{slug}.test"])
        with app.app_context():
            return create_tenant(slug, slug.title(), options.pop("domains"), **options)

    return make


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def cli(app):
    return app.test_cli_runner()


def run_worker(app) -> None:
    """Work off every queued job in this process, then return (a real procrastinate worker)."""
    from tenants.jobs import worker_app

    worker_app(app).run_worker(wait=False, install_signal_handlers=False,
                             delete_jobs="successful", listen_notify=False)


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """Uploaded files go to a folder of the test's own (this path)."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture()
def outbox(outbox_dir):
    """outbox(slug) -> the messages sent for that city so far, oldest first."""
    def read(slug: str) -> list[email.message.Message]:
        folder = outbox_dir / slug
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(folder.glob("*.eml"))] if folder.exists() else []

    return read


# Lines a test leaves for the end of the run's output (the fuzz run's counts), as the user
# property "summary": reports carry them from pytest-xdist's processes to the one that prints.
_summary_lines: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _summary_lines.extend(value for name, value in report.user_properties
                              if name == "summary")


def pytest_terminal_summary(terminalreporter, config):
    for line in _summary_lines:
        terminalreporter.write_line(line)


def form_token(response) -> str:
    """The CSRF token of the first form of a page."""
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', response.get_data(as_text=True))
    assert field, "the page has no form with a CSRF token"
    return re.search(r'value="([^"]+)"', field.group(0)).group(1)
