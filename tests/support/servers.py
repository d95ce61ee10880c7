"""gunicorn started as production starts it (config/gunicorn.py), on a free port, for the tests
that need a real server: slow clients, the request log of a real worker, the deploy recipe."""
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "wsgi:app"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, host: str, timeout: float = 10, headers=None):
    """(status, headers, body) of one GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until_answering(port: int, process: subprocess.Popen, path="/healthz",
                         host="platform.test", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if get(port, path, host, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer {path} within {seconds} s")
        time.sleep(0.2)


@contextlib.contextmanager
def gunicorn(environment: dict, log_path: Path, command=None):
    """gunicorn with config/gunicorn.py (or `command`) on a free port, answering; yields
    (port, process); stopped with SIGTERM afterwards. Its output goes to `log_path`."""
    port = free_port()
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", **environment}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command or GUNICORN, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            wait_until_answering(port, process)
            yield port, process
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
