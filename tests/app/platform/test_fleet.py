"""The fleet view: every city with its figures, a page at a time with a bounded number of
queries, search and filters; a city's page with its history."""
import threading

import sqlalchemy as sa
from sqlalchemy import event

from app.accounts import hash_password
from app.accounts.models import User
from app.modules import configure
from tenants.context import tenant_context
from tenants.db import db
from tenants.migrations import tenant_head
from tenants.placement import placements
from tests.app.platform.conftest import PLATFORM, post_platform


def _add_citizens(app, tenant, count):
    with tenant_context(tenant, app):
        for n in range(count):
            db.session.add(User(email=f"c{n}@example.com", password_hash=hash_password("x" * 12)))
        db.session.commit()


class QueryCounter:
    """Statements this thread runs (the directory's polling thread is not counted)."""

    def __init__(self, engine):
        self.engine, self.count, self.thread = engine, 0, threading.get_ident()

    def _count(self, *args):
        self.count += threading.get_ident() == self.thread

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_the_fleet_shows_each_citys_figures(app, client, make_city, vendor_admin):
    city = make_city("fleet", locale="en")
    _add_citizens(app, city, 3)
    page = client.get(f"/console/?q={city.slug}", headers=PLATFORM)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert city.slug in body and city.domains[0] in body
    assert ">3<" in body  # citizens
    assert "badge-warning\">Behind head" not in body
    assert "kB" in body or "MB" in body  # the schema's size
    # the node holding it: "local" on one PostgreSQL, "host:port" on a Citus cluster
    with app.app_context():
        node = placements()[city.slug].node
    assert f"<code>{node}</code>" in body and node is not None


def test_the_number_of_queries_does_not_grow_with_the_cities(app, client, make_city,
                                                             vendor_admin):
    for _ in range(3):
        make_city("qc")
    with app.app_context():
        engine = db.engine
    client.get("/console/?q=qc", headers=PLATFORM)  # warm: directory and session loaded
    with QueryCounter(engine) as few:
        client.get("/console/?q=qc-", headers=PLATFORM)
    for _ in range(6):
        make_city("qc")
    client.get("/console/?q=qc", headers=PLATFORM)
    with QueryCounter(engine) as many:
        body = client.get("/console/?q=qc-", headers=PLATFORM).get_data(as_text=True)
    assert body.count("/console/cities/qc-") >= 9
    assert 0 < many.count == few.count <= 6  # 0 would mean the counter saw nothing


def test_filters_by_status_and_behind_head(app, client, make_city, vendor_admin):
    from tenants.provisioning import set_status

    quiet = make_city("quiet")
    busy = make_city("busy")
    with app.app_context():
        set_status(quiet.slug, "suspended")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                f'UPDATE "{busy.schema}".alembic_version SET version_num = \'000000000000\'')
    def listed(query):
        body = client.get(f"/console/?{query}", headers=PLATFORM).get_data(as_text=True)
        return {slug for slug in (quiet.slug, busy.slug) if f'/console/cities/{slug}"' in body}

    try:
        assert listed("status=suspended") == {quiet.slug}
        assert listed("version=behind") == {busy.slug}
    finally:  # other tests migrate the whole fleet
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(
                f'UPDATE "{busy.schema}".alembic_version SET version_num = \'{tenant_head()}\'')
    assert client.get("/console/?status=bogus", headers=PLATFORM).status_code == 422


def test_a_citys_page_shows_details_and_history(app, client, make_city, vendor_admin):
    city = make_city("detail")
    post_platform(client, f"/console/cities/{city.slug}/maintenance-on", {})
    page = client.get(f"/console/cities/{city.slug}", headers=PLATFORM)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and city.schema in body
    assert "tenant.create" in body and "tenant.maintenance_on" in body
    assert vendor_admin["email"] in body
    assert client.get("/console/cities/no-such-city", headers=PLATFORM).status_code == 404


def test_support_staff_read_but_cannot_change(app, client, make_city, make_vendor):
    from tests.app.platform.conftest import sign_in_vendor_with_2fa

    city = make_city("ro")
    sign_in_vendor_with_2fa(client, make_vendor("support"))
    assert client.get("/console/", headers=PLATFORM).status_code == 200
    assert client.get(f"/console/cities/{city.slug}", headers=PLATFORM).status_code == 200
    for path in ("/console/cities/new", f"/console/cities/{city.slug}/suspend",
                 "/console/plans/new"):
        assert client.get(path, headers=PLATFORM).status_code == 403
    with app.app_context():
        status = db.session.scalar(sa.text("SELECT status FROM platform.tenants WHERE slug = :s"),
                                   {"s": city.slug})
    assert status == "active"


def test_the_console_names_modules_and_the_time_zone_it_shows(app, client, make_city,
                                                               vendor_admin):
    city = make_city("names", locale="en")
    with tenant_context(city, app):
        configure(enable=["traffic_fines", "utility_bills"])
        db.session.commit()
    for path in (f"/console/?q={city.slug}", f"/console/cities/{city.slug}"):
        body = client.get(path, headers=PLATFORM).get_data(as_text=True)
        assert "Traffic fines" in body and "Utility bills" in body, path
        assert "traffic_fines" not in body, path
    audit = client.get("/console/audit", headers=PLATFORM).get_data(as_text=True)
    assert "Asia/Shanghai" in audit and "in UTC" not in audit


def test_the_platform_audit_log_reads_wildcards_literally(app, client, make_city, vendor_admin):
    city = make_city("wild")  # provisioning writes an audit entry naming the city

    def lists_the_city(query):
        body = client.get(f"/console/audit?{query}", headers=PLATFORM).get_data(as_text=True)
        return city.slug in body

    assert lists_the_city("action=tenant")
    for query in ("actor=%25", "actor=_", "action=%25", "action=_"):
        assert not lists_the_city(query), query
