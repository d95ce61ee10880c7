"""A real `flask worker` process against the test database, for tests that kill or restart it."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker_process(database_url, outbox_dir, *options) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url, "CIVIC_ENV": "test",
                   "MAIL_OUTBOX_DIR": str(outbox_dir), "JOBS_STALLED_AFTER_SECONDS": "1",
                   "PLATFORM_HOST": "platform.test"}
    return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "worker", *options],
                            cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
