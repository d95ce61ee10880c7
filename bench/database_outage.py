"""A database outage under a running web server and job worker: how they answer meanwhile and
how long each takes to recover by itself.

On a throwaway PostgreSQL of its own (embedded, under a temporary folder; the shared server is
not touched): the platform migrated, one city, gunicorn (2 workers) and `flask worker` started
as `make run` starts them. A client asks for the city's home page every 0.2 s throughout. The
server is stopped for --seconds (30), then started again. Printed: the answers' status codes
during the outage (503 expected, never 500), the seconds from the restart to the first 200,
and to the delivery of a message queued right after the restart (the worker reconnecting by
itself). Figures are printed, not asserted.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import _common

from app import create_app, embedded_postgres
from app.accounts.models import User
from app.notifications import notify
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import migrate_platform
from tenants.provisioning import create_tenant

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="length of the outage")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="civic-bench-outage-"))
    folder.chmod(0o755)  # the server runs as a user of its own when we are root
    outbox = folder / "outbox"
    processes: list[subprocess.Popen] = []
    try:
        uri = embedded_postgres.url(folder, "civic_outage")
        app = create_app({"DATABASE_URL": uri, "MAIL_OUTBOX_DIR": str(outbox),
                          "TENANT_DIRECTORY_REFRESH_SECONDS": 0})
        with app.app_context():
            migrate_platform()
            town = create_tenant("outage", "Outage", ["outage.localhost"])
        with tenant_context(town, app):
            user = User(email="outage@example.com", locale="en")
            db.session.add(user)
            db.session.commit()
            user_id = user.id

        def tell() -> Path:
            with tenant_context(town, app):
                (notification,) = notify(db.session.get(User, user_id), "password_changed")
                db.session.commit()
                return outbox / town.slug / f"notification-{notification.id}.eml"

        port = free_port()
        environment = {**os.environ, "DATABASE_URL": uri, "MAIL_OUTBOX_DIR": str(outbox)}
        processes.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "4", "wsgi:app"], cwd=_common.ROOT, env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen(
            [str(BIN / "flask"), "worker", "--concurrency", "2"], cwd=_common.ROOT,
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        answers: list[tuple[float, int]] = []  # (time, status; 0: no answer)
        done = threading.Event()

        def client():
            request = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                             headers={"Host": "outage.localhost"})
            while not done.is_set():
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError:
                    status = 0
                answers.append((time.monotonic(), status))
                done.wait(0.2)

        warm = tell()
        threading.Thread(target=client, daemon=True).start()
        deadline = time.monotonic() + 60
        while not (warm.exists() and answers and answers[-1][1] == 200):
            if time.monotonic() > deadline:
                raise SystemExit("the web server or the worker never got ready")
            time.sleep(0.2)

        stopped = time.monotonic()
        embedded_postgres.stop(folder)
        time.sleep(options.seconds)
        embedded_postgres.start(folder)
        restarted = time.monotonic()
        message = tell()
        while not message.exists() and time.monotonic() < restarted + 300:
            time.sleep(0.1)
        delivered = time.monotonic() if message.exists() else None
        while time.monotonic() < restarted + 300 and not any(
                at > restarted and status == 200 for at, status in answers):
            time.sleep(0.1)
        done.set()
        during = Counter(status for at, status in answers if stopped <= at < restarted)
        first_200 = next((at for at, status in answers if at > restarted and status == 200),
                         None)
        alive = [name for name, process in zip(("gunicorn", "worker"), processes, strict=True)
                 if process.poll() is None]
        _common.describe_run()
        _common.print_table(f"database stopped for {options.seconds:.0f} s", [
            "what", "figure"], [
            ["answers during the outage (status: count; 0 = no answer)",
             ", ".join(f"{status}: {count}" for status, count in sorted(during.items()))],
            ["web: restart -> first 200",
             f"{first_200 - restarted:.1f} s" if first_200 else "never (300 s)"],
            ["worker: restart -> message queued then delivered",
             f"{delivered - restarted:.1f} s" if delivered else "never (300 s)"],
            ["processes still running afterwards", ", ".join(alive) or "none"],
        ])
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        embedded_postgres.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
