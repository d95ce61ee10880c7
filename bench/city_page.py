"""A city page's throughput: the citizen home page of many cities through the whole app.

--cities cities (default 20) in a scratch database, each with the announcements module on and
five published announcements (its home page then reads the city's modules, branding and
announcements: 5 statements, in a transaction that begins with the city's role and
search_path). --threads threads (default 4), each with its own Flask test client (in process:
routing, templates, the one connection pool), request `GET /` on the cities' hosts in turn for
--seconds seconds (default 20) after one round of warm-up. Printed: pages per second, latency
p50/p95/max, errors (any answer but 200), and afterwards the connections held on each node
(on a Citus coordinator: the coordinator's connections to the workers, one per city role and
pooled connection, the fan-out docs/scaling.md discusses).

DATABASE_URL names the server (a Citus coordinator: the scratch database is bootstrapped).

    .venv/bin/python bench/city_page.py [--cities 20] [--threads 4] [--seconds 20]
"""
import argparse
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import _common
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from app.modules import configure
from app.modules.announcements.models import Announcement
from tenants import citus
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant


def make_cities(count: int) -> list[str]:
    """Provision `count` cities with five announcements each; returns their hosts."""
    hosts = []
    for n in range(count):
        slug = f"page-{n:03d}"
        tenant = create_tenant(slug, f"Page {n}", [f"{slug}.bench.example"])
        with tenant_context(tenant):
            configure(enable=("announcements",))
            db.session.add_all(Announcement(
                title=f"Notice {i}", title_zh=f"通知 {i}", body="Text " * 50,
                published_at=datetime.now(UTC) - timedelta(days=i)) for i in range(5))
            db.session.commit()
        hosts.append(tenant.domains[0])
    return hosts


def warm_up(app, hosts: list[str]) -> Counter:
    """Each city's first page, cold, apart; in a thread of its own as the measured ones (this
    one's app context would be shared by the requests)."""
    statuses = Counter()

    def visit():
        client = app.test_client()
        statuses.update(client.get("/", headers={"Host": host}).status_code for host in hosts)

    thread = threading.Thread(target=visit)
    thread.start()
    thread.join()
    return statuses


def run(app, hosts: list[str], threads: int, seconds: float) -> dict:
    """Every thread requests the hosts' home pages in turn until the time is up."""
    latencies, statuses, lock = [], Counter(), threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop(offset: int):
        client = app.test_client()
        mine, seen, n = [], Counter(), offset
        while time.perf_counter() < deadline:
            host = hosts[n % len(hosts)]
            started = time.perf_counter()
            response = client.get("/", headers={"Host": host})
            mine.append(time.perf_counter() - started)
            seen[response.status_code] += 1
            n += 1
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    workers = [threading.Thread(target=client_loop, args=(i * len(hosts) // threads,))
               for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    return {"wall": wall, "pages": len(latencies), "statuses": statuses,
            **_common.percentiles(latencies)}


def connections(uri: str, database: str) -> list[list]:
    """Connections to the scratch database on every node: total, and how many roles."""
    with psycopg.connect(uri) as connection:
        coordinator, workers = citus.registered_nodes(connection)
    nodes = [("coordinator" if workers else "server", None)]
    nodes += [(f"worker {worker}", worker) for worker in workers]
    rows = []
    for label, node in nodes:
        target = make_conninfo(uri, host=node.host, port=str(node.port)) if node else uri
        with psycopg.connect(target) as connection:
            total, roles, city_roles = connection.execute(
                "SELECT count(*), count(DISTINCT usename), "
                "count(DISTINCT usename) FILTER (WHERE usename LIKE 'civic\\_%%') "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,)).fetchone()
        rows.append([label, total, roles, city_roles])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--citus-cached-connections", type=int, metavar="N",
                        help="on Citus: citus.max_cached_conns_per_worker for the scratch "
                             "database (default: what the bootstrap sets, 0)")
    args = parser.parse_args()
    with _common.scratch_app("page") as scratch:
        if args.citus_cached_connections is not None and scratch.citus:
            with psycopg.connect(scratch.uri, autocommit=True) as admin:
                admin.execute(sql.SQL("ALTER DATABASE {} SET citus.max_cached_conns_per_worker "
                                      "= {}").format(sql.Identifier(scratch.name),
                                                     sql.Literal(args.citus_cached_connections)))
            db.engine.dispose()  # new connections take the setting
        hosts, provisioned = _common.timed(make_cities, args.cities)
        print(f"provisioned {args.cities} cities in {provisioned:.1f} s", file=sys.stderr)
        scratch.app.extensions["tenant_directory"].mark_stale()
        warm = warm_up(scratch.app, hosts)
        result = run(scratch.app, hosts, args.threads, args.seconds)
        fan_out = connections(scratch.uri, scratch.name)
    errors = sum(n for status, n in result["statuses"].items() if status != 200)
    _common.print_table(
        f"City home page, {args.cities} cities, {args.threads} threads (Flask test client, "
        f"in process), {args.seconds:.0f} s",
        ["pages", "pages/s", "p50", "p95", "max", "errors"],
        [[result["pages"], f"{result['pages'] / result['wall']:.1f}",
          _common.ms(result["p50"]), _common.ms(result["p95"]), _common.ms(result["max"]),
          errors]])
    cached = (f", citus.max_cached_conns_per_worker {args.citus_cached_connections}"
              if args.citus_cached_connections is not None and scratch.citus else "")
    _common.print_table(f"Connections to the scratch database after the run{cached}",
                        ["node", "connections", "roles", "city roles"], fan_out)
    print(f"\nwarm-up, one page per city: statuses {dict(warm)}")
    _common.describe_run()
    if errors or warm.keys() - {200}:
        sys.exit(1)


if __name__ == "__main__":
    main()
