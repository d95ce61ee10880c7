"""The same isolation guarantees behind a real PgBouncer in transaction mode, with one server
connection shared by every client: nothing of one city's transaction reaches the next one.
Skipped where no pgbouncer binary is installed (.ci/run installs Debian's)."""
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import create_app
from app.audit.models import AuditEntry
from tenants.context import tenant_context
from tenants.db import db

PGBOUNCER = shutil.which("pgbouncer") or shutil.which("/usr/sbin/pgbouncer")
pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed")

STATE = sa.text("SELECT current_user, session_user, current_setting('search_path'), "
                "pg_backend_pid()")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def bouncer_url(database_url, tmp_path_factory):
    backend = make_url(database_url)
    socket_dir = backend.query.get("host")
    host = socket_dir or backend.host or "127.0.0.1"
    directory = tmp_path_factory.mktemp("pgbouncer")
    directory.chmod(0o777)
    port = _free_port()
    (directory / "users.txt").write_text(f'"{backend.username}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"civic = host={host} port={backend.port or 5432} dbname={backend.database} "
        f"user={backend.username}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 1\nmax_client_conn = 100\n"
    )
    for file in directory.iterdir():
        file.chmod(0o644)
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        owner = pwd.getpwuid(os.stat(socket_dir).st_uid).pw_name if socket_dir else "nobody"
        command[1:1] = ["-u", owner]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"pgbouncer did not start: {process.stdout.read().decode()}")
        time.sleep(0.05)
    yield f"postgresql://{backend.username}@127.0.0.1:{port}/civic"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def bounced_app(bouncer_url, cities):
    return create_app({
        "CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": bouncer_url,
        "PLATFORM_HOST": "platform.test", "TENANT_DIRECTORY_REFRESH_SECONDS": 0,
        "DB_PREPARED_STATEMENTS": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 6, "max_overflow": 0},
    })


def test_cities_stay_apart_when_every_client_shares_one_server_connection(bounced_app, cities):
    app, towns = bounced_app, [cities["alpha"], cities["beta"]]
    backends, problems, start = set(), [], threading.Barrier(6)

    def work(worker: int):
        start.wait()
        for round_ in range(20):
            town = towns[(worker + round_) % 2]
            try:
                with tenant_context(town, app):
                    user, _, path, pid = db.session.execute(STATE).one()
                    backends.add(pid)
                    if (user, path) != (town.db_role, f'"{town.schema}"'):
                        problems.append((town.slug, user, path))
                    db.session.add(AuditEntry(actor=f"{town.slug}-bounced", action="test"))
                    if round_ % 4 == 3:
                        db.session.rollback()
                        continue
                    db.session.commit()
                    seen = set(db.session.scalars(sa.select(AuditEntry.actor).where(
                        AuditEntry.actor.like("%-bounced"))))
                    if seen != {f"{town.slug}-bounced"}:
                        problems.append((town.slug, seen))
            except Exception as error:
                problems.append(error)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    assert problems == []
    assert len(backends) == 1  # one server connection carried every city's transactions
    with app.app_context(), db.engine.connect() as connection:
        user, session_user, path, _ = connection.execute(STATE).one()
    assert user == session_user and "city_" not in path


def test_the_site_is_served_through_pgbouncer(bounced_app, cities):
    client = bounced_app.test_client()
    for _ in range(10):  # more than psycopg's prepare threshold
        assert "阿尔法市" in client.get("/", headers={"Host": "alpha.test"}).get_data(as_text=True)
        assert "Beta" in client.get("/", headers={"Host": "beta.test"}).get_data(as_text=True)
