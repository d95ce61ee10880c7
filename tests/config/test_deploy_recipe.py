"""docs/deploy.md's production recipe, started as written: the environment file, the systemd
units' commands, the doc's own commands and nginx's configuration are read from
docs/examples/ and docs/deploy.md, so doc and test cannot drift apart. Only what names this
machine is changed: the database, the ports, the certificate's paths, fresh secrets for the
CHANGE-ME ones, Redis database 15 (the tests') and the mail outbox instead of SMTP.

Redis must answer on 127.0.0.1:6379 (else skipped, saying so); without nginx (Debian's, which
.ci/run installs) the checks through the proxy are skipped and the rest talk to gunicorn."""
import contextlib
import email
import email.policy
import ipaddress
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import form_token, fresh_database
from tests.support.cities import CONSENT
from tests.support.servers import free_port, gunicorn, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
EXAMPLES = ROOT / "docs" / "examples"
RECIPE_FILES = ("civiccloud.env", "civiccloud-web.service", "civiccloud-worker.service",
                "civiccloud-migrate.service", "nginx-civiccloud.conf")
INSTALLED_BIN = "/srv/civiccloud/.venv/bin/"
BIN = Path(sys.executable).parent
REDIS = ("127.0.0.1", 6379)
TEST_REDIS_URI = "redis://127.0.0.1:6379/15"
PASSWORD = "Seven orange kites over Lishui"
NEW_PASSWORD = "Another nine paper lanterns"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def environment_file(text: str) -> dict:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them (a value may be in quotes)."""
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().removeprefix('"').removesuffix('"')
    return values


def unit_commands(unit: str, key: str) -> list[list[str]]:
    """Each `key=` line of a unit (ExecStart, ExecReload), as argv, run from this checkout's
    virtual environment instead of /srv/civiccloud's."""
    commands = []
    for line in example(unit).splitlines():
        if line.startswith(f"{key}="):
            argv = shlex.split(line.split("=", 1)[1])
            commands.append([word.replace(INSTALLED_BIN, f"{BIN}/") for word in argv])
    assert commands, f"{unit} has no {key}="
    return commands


def unit_environment(unit: str, runtime_directory: Path) -> dict:
    """A unit's `Environment=` settings, its /run/civiccloud (RuntimeDirectory) made
    `runtime_directory`."""
    settings = {}
    for line in example(unit).splitlines():
        if line.startswith("Environment="):
            key, value = line.split("=", 1)[1].split("=", 1)
            settings[key] = value.replace("/run/civiccloud", str(runtime_directory))
    return settings


def doc_commands(prefix: str) -> list[str]:
    """The lines of docs/deploy.md's sh blocks that start with `prefix`."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(prefix)]
    assert lines, f"docs/deploy.md has no command starting with {prefix!r}"
    return lines


def substitute(text: str, old: str, new: str) -> str:
    """`old` must be in the file exactly once: a changed file fails here, not silently."""
    assert text.count(old) == 1, f"expected {old!r} once in the nginx configuration"
    return text.replace(old, new)


def test_the_doc_quotes_each_recipe_file_as_it_is():
    doc = DOC.read_text(encoding="utf-8")
    for name in RECIPE_FILES:
        assert f"```\n{example(name)}```" in doc, f"docs/deploy.md does not quote {name}"


def _redis_answers() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
        return True
    except OSError:
        return False


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


def _certificate(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for `names` and 127.0.0.1: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.now(UTC)
    san = [x509.DNSName(name) for name in names] + [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(san), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _nginx_configuration(folder: Path, upstream_port: int, http_port: int, https_port: int,
                         certificate: tuple[Path, Path]) -> Path:
    """docs/examples/nginx-civiccloud.conf with this machine's ports and certificate, inside
    the main configuration Debian's /etc/nginx/nginx.conf would be (its paths in `folder`)."""
    site = example("nginx-civiccloud.conf")
    site = substitute(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    site = substitute(site, "listen 80 default_server;",
                      f"listen 127.0.0.1:{http_port} default_server;")
    site = substitute(site, "listen [::]:80 default_server;\n", "")
    site = substitute(site, "listen 443 ssl default_server;",
                      f"listen 127.0.0.1:{https_port} ssl default_server;")
    site = substitute(site, "listen [::]:443 ssl default_server;\n", "")
    site = substitute(site, "/etc/civiccloud/tls/fullchain.pem", str(certificate[0]))
    site = substitute(site, "/etc/civiccloud/tls/privkey.pem", str(certificate[1]))
    (folder / "civiccloud.conf").write_text(site)
    temporary = "\n".join(f"    {kind}_temp_path {folder / kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"""daemon off;
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"};
events {{ worker_connections 512; }}
http {{
    log_format with_id '$request_id $status "$request"';
    access_log {folder / "access.log"} with_id;
{temporary}
    include {folder / "civiccloud.conf"};
}}
""")
    return main


def _stop(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM to the process's group (it was started in a session of its own), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port} after {seconds} s"
            time.sleep(0.1)


@dataclass
class Recipe:
    environment: dict
    folder: Path
    city_slug: str
    city_host: str
    web: subprocess.Popen
    web_port: int
    nginx: subprocess.Popen | None
    http_port: int | None
    https_port: int | None
    certificate: Path | None

    def url(self, path: str, scheme: str = "https") -> str:
        """Through nginx when it runs, else straight to gunicorn."""
        if self.nginx is None:
            return f"http://127.0.0.1:{self.web_port}{path}"
        port = self.https_port if scheme == "https" else self.http_port
        return f"{scheme}://127.0.0.1:{port}{path}"

    @property
    def verify(self) -> str | bool:
        """Given with each request: requests prefers REQUESTS_CA_BUNDLE to a session's own."""
        return str(self.certificate) if self.certificate else True

    @property
    def proxy_headers(self) -> dict:
        """Without nginx, the test says what nginx would: the client used https."""
        return {} if self.nginx else {"X-Forwarded-Proto": "https"}

    def _keep_cookies(self, session, response):
        """Without nginx, the session's Secure cookies must go back over plain http too."""
        if self.nginx is None and session is not None:
            for cookie in session.cookies:
                cookie.secure = False
        return response

    def get(self, path, host=None, session=None, **options):
        headers = {"Host": host or self.city_host, **self.proxy_headers,
                   **options.pop("headers", {})}
        return self._keep_cookies(session, (session or requests).get(
            self.url(path), headers=headers, verify=self.verify, timeout=15, **options))

    def post(self, session, path, data, page):
        """A form of `page` posted as a browser would: its CSRF token, and the Referer that
        Flask-WTF asks of every HTTPS post."""
        referer = f"https://{self.city_host}{path}"
        return self._keep_cookies(session, session.post(
            self.url(path), data={"csrf_token": form_token(page), **data},
            headers={"Host": self.city_host, "Referer": referer, **self.proxy_headers},
            allow_redirects=False, timeout=15, verify=self.verify))

    def outbox(self) -> list[email.message.Message]:
        folder = Path(self.environment["MAIL_OUTBOX_DIR"]) / self.city_slug
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


class _Page:
    """form_token() reads `get_data`: a requests response seen as a Flask one."""

    def __init__(self, response):
        self.response = response

    def get_data(self, as_text=False):
        return self.response.text if as_text else self.response.content


def _forget_rate_limit_counts(slug: str) -> None:
    """The recipe's counts in the tests' Redis database: a later run counts from nothing."""
    client = redis.Redis.from_url(TEST_REDIS_URI)
    keys = list(client.scan_iter(match=f"*{slug}*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    if not _redis_answers():
        pytest.skip("the recipe needs Redis for the rate limits: none answers on "
                    "127.0.0.1:6379 (apt-get install redis-server)")
    folder = tmp_path_factory.mktemp("deploy")
    (create_line,) = doc_commands("civic tenants create ")
    create = shlex.split(create_line)[1:]
    slug, city_host = create[2], create[create.index("--domain") + 1]
    started: list[subprocess.Popen] = []
    with fresh_database("civic_deploy") as database_url:
        settings = environment_file(example("civiccloud.env"))
        web_port = free_port()
        machine = {
            "DATABASE_URL": database_url, "BIND": f"127.0.0.1:{web_port}",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "EXPORT_SIGNING_KEY": secrets.token_urlsafe(48),
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            "RATELIMIT_STORAGE_URI": TEST_REDIS_URI,
            "MAIL_BACKEND": "outbox", "MAIL_OUTBOX_DIR": str(folder / "outbox"),
        }
        environment = {**settings, **machine}
        assert "CHANGE-ME" not in "".join(environment.values())
        # What systemd gives a service, not the test's own environment.
        process_environment = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8",
                               "HOME": str(folder), **environment}

        def run(argv):
            result = subprocess.run(argv, cwd=ROOT, env=process_environment, capture_output=True,
                                    text=True, timeout=120)
            assert result.returncode == 0, f"{shlex.join(argv)}:\n{result.stdout}{result.stderr}"
            return result.stdout

        def start(argv, log_name, unit=None):
            env = {**process_environment,
                   **(unit_environment(unit, folder / "run") if unit else {})}
            with open(folder / log_name, "wb") as log:
                process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            started.append(process)
            return process

        try:
            for argv in unit_commands("civiccloud-migrate.service", "ExecStart"):
                run(argv)
            run([str(BIN / "flask"), *create])
            (worker_argv,) = unit_commands("civiccloud-worker.service", "ExecStart")
            start(worker_argv, "worker.log", "civiccloud-worker.service")
            (web_argv,) = unit_commands("civiccloud-web.service", "ExecStart")
            web = start(web_argv, "gunicorn.log", "civiccloud-web.service")
            wait_until_answering(web_port, web, host=environment["PLATFORM_HOST"])
            nginx = http_port = https_port = certificate = None
            nginx_binary = _nginx()
            if nginx_binary:
                tls = folder / "tls"
                tls.mkdir()
                certificate = _certificate(tls, [city_host, environment["PLATFORM_HOST"]])
                http_port, https_port = free_port(), free_port()
                configuration = _nginx_configuration(folder, web_port, http_port, https_port,
                                                     certificate)
                tested = subprocess.run([nginx_binary, "-t", "-p", str(folder), "-c",
                                         str(configuration), "-e", str(folder / "error.log")],
                                        capture_output=True, text=True)
                assert tested.returncode == 0, tested.stderr
                nginx = start([nginx_binary, "-p", str(folder), "-c", str(configuration), "-e",
                               str(folder / "error.log")], "nginx.log")
                _wait_for_port(https_port, nginx)
                certificate = certificate[0]
            yield Recipe(environment, folder, slug, city_host, web, web_port, nginx,
                         http_port, https_port, certificate)
        finally:
            for process in reversed(started):
                _stop(process)
            if _redis_answers():
                _forget_rate_limit_counts(slug)


@pytest.fixture()
def through_nginx(recipe):
    if recipe.nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx, as root): the proxy part "
                    "of the recipe is not checked")
    return recipe


def test_https_through_nginx_serves_the_city_with_hsts_and_secure_cookies(through_nginx):
    home = through_nginx.get("/", headers={"X-Request-ID": "chosen-by-the-client-0001"})
    assert home.status_code == 200
    assert "丽水市" in home.text
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000"
    # nginx's $request_id replaces the client's: only the trusted proxy names requests.
    request_id = home.headers["X-Request-ID"]
    access_log = through_nginx.folder / "access.log"
    deadline = time.monotonic() + 10
    while f"{request_id} 200 " not in access_log.read_text():
        assert time.monotonic() < deadline, f"{request_id} is not in nginx's access log"
        time.sleep(0.1)
    form = through_nginx.get("/account/register")
    assert form.status_code == 200
    cookie = form.headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie


def test_plain_http_is_sent_to_https(through_nginx):
    response = requests.get(through_nginx.url("/account/login?next=/", scheme="http"),
                            headers={"Host": through_nginx.city_host}, allow_redirects=False,
                            timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == (
        f"https://{through_nginx.city_host}/account/login?next=/")


def test_readyz_and_the_metrics_token(recipe):
    assert recipe.get("/").status_code == 200  # counted in /metrics
    ready = recipe.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    platform = recipe.environment["PLATFORM_HOST"]
    token = recipe.environment["METRICS_TOKEN"]
    metrics = recipe.get("/metrics", host=platform, headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 200
    assert "civic_city_requests_total" in metrics.text
    assert recipe.get("/metrics", host=platform).status_code == 401
    refused = recipe.get("/metrics", host=platform, headers={"Authorization": "Bearer guess"})
    assert refused.status_code in (401, 403)


def _link_in(message, path_prefix: str) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+" + re.escape(path_prefix) + r"\S+", body)
    assert match, f"no {path_prefix} link in:\n{body}"
    return match.group(0)


def _wait_for_mail(recipe, count: int, seconds: float = 30) -> list:
    deadline = time.monotonic() + seconds
    while len(messages := recipe.outbox()) < count:
        assert time.monotonic() < deadline, (
            f"{len(messages)} messages after {seconds} s, not {count}:\n"
            + (recipe.folder / "worker.log").read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    return messages


def test_a_citizens_password_change_is_told_by_the_job_worker(recipe):
    """Register, ask for a reset link, choose a new password over HTTPS: the "password changed"
    notification is a job, which the worker delivers."""
    browser = requests.Session()
    address = f"citizen-{secrets.token_hex(4)}@example.com"
    page = _Page(recipe.get("/account/register", session=browser))
    registered = recipe.post(browser, "/account/register", {
        "email": address, "password": PASSWORD, "confirm": PASSWORD, **CONSENT}, page)
    assert registered.status_code == 200, registered.text[:2000]
    already = len(recipe.outbox())
    page = _Page(recipe.get("/account/password/forgot", session=browser))
    asked = recipe.post(browser, "/account/password/forgot", {"identifier": address}, page)
    assert asked.status_code == 200
    (reset_mail,) = [message for message in _wait_for_mail(recipe, already + 1)[already:]]
    link = _link_in(reset_mail, "/account/password/reset/")
    # Links that leave the site: https, the city's own domain, no port (PUBLIC_SCHEME/PORT).
    assert link.startswith(f"https://{recipe.city_host}/account/password/reset/")
    path = link.removeprefix(f"https://{recipe.city_host}")
    page = _Page(recipe.get(path, session=browser))
    changed = recipe.post(browser, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                          page)
    assert changed.status_code == 302
    told = _wait_for_mail(recipe, already + 2)[-1]
    assert told["To"] == address
    assert told["Message-ID"].startswith("<notification-")  # sent by the job, not the page
    counts = redis.Redis.from_url(TEST_REDIS_URI).scan_iter(match=f"*{recipe.city_slug}*")
    assert next(counts, None) is not None, "no rate limit count in Redis"


def _children(pid: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    children.add(int(entry.name))
    return children


def test_a_rolling_restart_loses_no_request(recipe):
    workers = int(recipe.environment["WEB_WORKERS"])
    before = _children(recipe.web.pid)
    assert len(before) == workers
    stop = threading.Event()
    answers: list[int | str] = []

    def ask():
        with requests.Session() as browser:
            while not stop.is_set():
                try:
                    answers.append(recipe.get("/", session=browser).status_code)
                except requests.RequestException as error:
                    answers.append(f"{type(error).__name__}: {error}")

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for asker in askers:
        asker.start()
    try:
        time.sleep(0.5)
        asked_before_reload = len(answers)
        (reload_argv,) = unit_commands("civiccloud-web.service", "ExecReload")
        subprocess.run([word.replace("$MAINPID", str(recipe.web.pid)) for word in reload_argv],
                       check=True)
        # A bound, not a goal: the new workers load the app (seconds; more on a busy machine).
        deadline = time.monotonic() + 120
        while True:
            now = _children(recipe.web.pid)
            if len(now) == workers and not now & before:
                break
            assert time.monotonic() < deadline, (
                f"workers before {before}, now {now}; gunicorn said:\n" + "\n".join(
                    line for line in (recipe.folder / "gunicorn.log").read_text().splitlines()
                    if '"civic.request"' not in line)[-3000:])
            time.sleep(0.1)
        time.sleep(1)  # the new workers answer too
    finally:
        stop.set()
        for asker in askers:
            asker.join()
    assert answers.count(200) == len(answers), [a for a in answers if a != 200][:5]
    assert len(answers) > asked_before_reload > 0
    # Each old worker served on until a new one, loaded, stopped it (config/gunicorn.py).
    log = (recipe.folder / "gunicorn.log").read_text()
    replaced = {int(pid) for pid in re.findall(r"rolling restart: worker \d+ replaces worker (\d+)",
                                               log)}
    assert replaced == before
    print(f"rolling restart: {len(answers)} requests, {asked_before_reload} before the HUP, "
          "all answered 200")


def _pg_bin(database_url: str) -> Path | None:
    """A folder with pg_dump and pg_restore of the server's major version."""
    with psycopg.connect(database_url) as connection:
        major = connection.info.server_version // 10000
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    with contextlib.suppress(ImportError):
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    for folder in candidates:
        dump = folder / "pg_dump"
        if dump.exists() and f") {major}." in subprocess.run(
                [dump, "--version"], capture_output=True, text=True).stdout:
            return folder
    return None


def test_a_backup_restored_into_a_new_database_is_ready(recipe):
    database_url = recipe.environment["DATABASE_URL"]
    pg_bin = _pg_bin(database_url)
    if pg_bin is None:
        pytest.skip("no pg_dump of the database server's major version on this machine")
    backup = recipe.folder / "civic.dump"
    with fresh_database("civic_restored") as restore_url:
        shell_environment = {"PATH": f"{pg_bin}:{os.environ['PATH']}", "BACKUP": str(backup),
                             "DATABASE_URL": database_url, "RESTORE_URL": restore_url}
        for line in (*doc_commands("pg_dump "), *doc_commands("pg_dumpall "),
                     *doc_commands("pg_restore ")):
            result = subprocess.run(["bash", "-c", line], env=shell_environment,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"{line}:\n{result.stderr}"
        assert "CREATE ROLE civic_" in Path(f"{backup}.roles.sql").read_text()
        environment = {key: value for key, value in recipe.environment.items() if key != "BIND"}
        environment.update(DATABASE_URL=restore_url, WEB_WORKERS="1",
                           PROMETHEUS_MULTIPROC_DIR=str(recipe.folder / "restored-metrics"))
        with gunicorn(environment, recipe.folder / "restored.log") as (port, _process):
            ready = requests.get(f"http://127.0.0.1:{port}/readyz",
                                 headers={"Host": recipe.city_host}, timeout=15)
            assert ready.status_code == 200, ready.text
            home = requests.get(f"http://127.0.0.1:{port}/",
                                headers={"Host": recipe.city_host}, timeout=15)
            assert home.status_code == 200 and "丽水市" in home.text
