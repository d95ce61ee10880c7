"""The end-to-end suite's fixtures: the app served over HTTP (werkzeug's server in a thread) on a
database of its own with the demo cities provisioned (`flask demo`), one headless Chromium
(Debian's, driven by Playwright) for the whole run, and a staff admin per city and a vendor
admin signed in once each through the consoles' own pages, their cookies reused by every
browser context. Everything here is skipped, saying why, where Chromium or Playwright is
missing: `make test-browser` (docs/testing.md)."""
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from tenants.context import directory
from tenants.migrations import migrate_platform
from tests.conftest import fresh_database
from tests.support.accounts import add_staff, add_vendor
from tests.support.apps import app_config
from tests.support.cities import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
PLATFORM_HOST = "localhost"  # Chromium sends *.localhost to the loopback address by itself
DEMO_SLUGS = ("lishui", "beijing", "shenzhen")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - `make install` installs it (the test extra)
    sync_playwright = None


def pytest_collection_modifyitems(config, items):
    reason = ("Playwright is not installed (make install)" if sync_playwright is None else
              f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
              if not os.access(CHROMIUM, os.X_OK) else None)
    if reason:
        here = Path(__file__).parent
        for item in items:
            if here in Path(item.fspath).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):  # a thousand lines of access log say nothing here
        pass


@dataclass
class LiveSite:
    """The served app: its URL for a host, the demo cities, the signed-in staff's cookies."""

    app: object
    port: int
    cities: dict = field(default_factory=dict)  # slug -> TenantInfo
    staff_state: dict = field(default_factory=dict)  # slug (or "platform") -> storage state

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def city_url(self, slug: str, path: str = "/") -> str:
        return self.url(self.cities[slug].domains[0], path)


@pytest.fixture(scope="session")
def live_site(tmp_path_factory):
    with fresh_database("civic_browser") as database_url:
        app = create_app(app_config(database_url, tmp_path_factory.mktemp("browser-outbox"),
                                    PLATFORM_HOST=PLATFORM_HOST,
                                    UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads"))))
        with app.app_context():
            migrate_platform()
        made = app.test_cli_runner().invoke(args=["demo"])
        assert made.exit_code == 0, made.output
        server = make_server("127.0.0.1", 0, app, threaded=True,
                             request_handler=QuietHandler)
        app.config["PUBLIC_PORT"] = str(server.port)  # the sandbox's links come back here
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        with app.app_context():
            cities = {slug: directory().get(slug) for slug in DEMO_SLUGS}
        try:
            yield LiveSite(app, server.port, cities)
        finally:
            server.shutdown()
            thread.join()
            app.extensions["tenant_directory"].close()
            with app.app_context():
                from tenants.db import db

                db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def _second_factor(page, secret: str) -> None:
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.locator("input[name=code]").press("Enter")
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def signed_in(live_site, browser):
    """signed_in(slug or "platform") -> the storage state (cookies) of that site's admin,
    signed in once through the console's password and TOTP pages."""
    def state(site: str) -> dict:
        if site not in live_site.staff_state:
            context = browser.new_context()
            page = context.new_page()
            if site == "platform":
                vendor = add_vendor(live_site.app)
                page.goto(live_site.url(PLATFORM_HOST, "/console/login"))
                page.locator("input[name=email]").fill(vendor["email"])
                page.locator("input[name=password]").fill(vendor["password"])
            else:
                member = add_staff(live_site.app, live_site.cities[site],
                                   f"admin@{site}.example")
                page.goto(live_site.city_url(site, "/admin/login"))
                page.locator("input[name=identifier]").fill(member["email"])
                page.locator("input[name=password]").fill(PASSWORD)
                vendor = member
            page.locator("input[name=password]").press("Enter")
            page.wait_for_load_state()
            _second_factor(page, vendor["secret"])
            assert "/2fa" not in page.url and "/login" not in page.url, page.url
            live_site.staff_state[site] = context.storage_state()
            context.close()
        return live_site.staff_state[site]

    return state
