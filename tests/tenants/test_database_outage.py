"""PostgreSQL stops under a running worker and web app, then comes back: the worker does not
exit and delivers again by itself; meanwhile the pages answer 503 with Retry-After, never 500.
On a throwaway server of this test's own (the shared test database stays up)."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from app import embedded_postgres
from app.accounts.models import User
from app.notifications import notify
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import migrate_platform
from tenants.provisioning import create_tenant
from tests.support.apps import another_app, app_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def throwaway_server():
    """(instance folder, URI of a database) of a PostgreSQL server of this test's own."""
    folder = Path(tempfile.mkdtemp(prefix="civic-outage-"))
    folder.chmod(0o755)  # the server runs as a user of its own when we are root
    try:
        yield folder, embedded_postgres.url(folder, "civic_outage")
    finally:
        embedded_postgres.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


class Output:
    """The lines a process writes, read by a thread as they come."""

    def __init__(self, process):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.append(line.decode(errors="replace"))

    def text(self) -> str:
        return "".join(self.lines)


def _wait_for(condition, what: str, output: Output, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}; the worker said:\n{output.text()}")
        time.sleep(0.2)


def test_a_worker_and_the_pages_survive_postgresql_stopping_and_coming_back(
        throwaway_server, tmp_path):
    folder, uri = throwaway_server
    outbox = tmp_path / "outbox"
    with another_app(app_config(uri, outbox, TENANT_DIRECTORY_REFRESH_SECONDS=0)) as app:
        with app.app_context():
            migrate_platform()
            town = create_tenant("outage", "Outage", ["outage.test"])
        with tenant_context(town, app):
            user = User(email=f"o-{uuid.uuid4().hex[:6]}@example.com", locale="en")
            db.session.add(user)
            db.session.commit()
            user_id = user.id

        def tell() -> int:
            with tenant_context(town, app):
                (notification,) = notify(db.session.get(User, user_id), "password_changed")
                db.session.commit()
                return notification.id

        def page():
            return app.test_client().get("/", headers={"Host": "outage.test"})

        environment = {**os.environ, "DATABASE_URL": uri, "CIVIC_ENV": "test",
                       "MAIL_OUTBOX_DIR": str(outbox), "PLATFORM_HOST": "platform.test",
                       "JOBS_RECONNECT_MAX_SECONDS": "2"}
        worker = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "worker"],
                                  cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        output = Output(worker)
        try:
            before = tell()
            _wait_for(lambda: (outbox / town.slug / f"notification-{before}.eml").exists(),
                      "the worker never delivered before the outage", output)
            assert page().status_code == 200

            embedded_postgres.stop(folder)
            _wait_for(lambda: "database is unreachable" in output.text(),
                      "the worker never noticed the outage", output)
            down = page()
            assert down.status_code == 503, down.get_data(as_text=True)
            assert down.headers["Retry-After"] == "30"
            # the city speaks Chinese
            assert "服务暂时不可用" in down.get_data(as_text=True)
            # The process lives (healthz) but is not ready (readyz) while the database is away.
            probes = app.test_client()
            assert probes.get("/healthz", headers={"Host": "outage.test"}).status_code == 200
            assert probes.get("/readyz", headers={"Host": "outage.test"}).status_code == 503
            assert worker.poll() is None, output.text()  # still running, trying again
            # A process that has not loaded the cities' directory yet (a new gunicorn worker)
            # cannot even tell which site a request is for: 503 all the same.
            with another_app(app_config(uri, outbox)) as newcomer:
                fresh = newcomer.test_client().get("/", headers={"Host": "outage.test"})
            assert (fresh.status_code, fresh.headers["Retry-After"]) == (503, "30")

            embedded_postgres.start(folder)
            after = tell()  # queued once the server is back: the worker must find it alone
            _wait_for(lambda: (outbox / town.slug / f"notification-{after}.eml").exists(),
                      "the worker never delivered after the outage", output)
            assert page().status_code == 200
            assert worker.poll() is None
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        assert worker.returncode == 0, output.text()
