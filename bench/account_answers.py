"""Whether registration and password-reset requests take as long for an address that has an
account as for one that has not (docs/security.md, item 7): --runs requests of each kind through
the city's pages (the test client, mail to the development outbox), p50/p95 printed side by
side. Figures, not a pass/fail: the difference to look at is the p50 gap against the spread.

    .venv/bin/python bench/account_answers.py [--runs 40]
"""
import argparse
import re
import tempfile

import _common

from app.accounts import hash_password
from app.accounts.models import User
from app.extensions import limiter
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant

PASSWORD = "correct horse battery"


def _post(client, path, data, address):
    environ = {"REMOTE_ADDR": address}
    page = client.get(path, headers={"Host": "bench.test"}, environ_base=environ)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    return _common.timed(client.post, path, headers={"Host": "bench.test"},
                         environ_base=environ, data={"csrf_token": token, **data})[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    with _common.scratch_app("answers") as scratch:
        app = scratch.app
        app.config.update(MAIL_OUTBOX_DIR=tempfile.mkdtemp())
        limiter.enabled = False  # the same address asks again and again
        tenant = create_tenant("bench", "Bench", ["bench.test"], locale="en")
        with tenant_context(tenant, app):
            db.session.add(User(email="known@example.com", password_hash=hash_password(PASSWORD)))
            db.session.commit()
        client = app.test_client()
        samples = {kind: [] for kind in ("reset: known", "reset: unknown", "register: taken",
                                         "register: new")}
        for run in range(runs):
            address = f"10.9.{run // 250}.{run % 250}"
            samples["reset: known"].append(_post(client, "/account/password/forgot", {
                "identifier": "known@example.com"}, address))
            samples["reset: unknown"].append(_post(client, "/account/password/forgot", {
                "identifier": f"nobody{run}@example.com"}, address))
            samples["register: taken"].append(_post(client, "/account/register", {
                "email": "known@example.com", "password": PASSWORD, "confirm": PASSWORD},
                address))
            samples["register: new"].append(_post(client, "/account/register", {
                "email": f"new{run}@example.com", "password": PASSWORD, "confirm": PASSWORD},
                address))
        rows = []
        for kind, values in samples.items():
            figures = _common.percentiles(values)
            rows.append([kind, figures["n"], _common.ms(figures["p50"]),
                         _common.ms(figures["p95"])])
        _common.print_table("Answer times (POST only, the page's GET not counted)",
                            ["request", "n", "p50", "p95"], rows)
    _common.describe_run()


if __name__ == "__main__":
    main()
