"""On a Citus cluster (make test-citus): every city is a distributed schema on a worker, its
role is confined there too, its payments' finality trigger runs on its shard, an imported city
is distributed once restored, a city moves online, and the superuser bootstrap leaves a role
that is not a superuser able to run the whole platform. Skipped on plain PostgreSQL."""
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from app import create_app
from app.audit.models import AuditEntry
from tenants import citus
from tenants.context import tenant_context
from tenants.db import db
from tenants.export import export_city, import_city
from tenants.migrations import migrate_platform
from tenants.placement import move_city, placements
from tenants.provisioning import create_tenant, delete_tenant

pytestmark = pytest.mark.usefixtures("requires_citus")


def workers(database_url) -> list[citus.Node]:
    with psycopg.connect(database_url) as connection:
        return citus.registered_nodes(connection)[1]


def shard_of(table: str) -> str:
    """The qualified name of the one shard of a city table (a single-shard table)."""
    with db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT shard_name(CAST(:t AS regclass), shardid) FROM pg_dist_shard "
            "WHERE logicalrelid = CAST(:t AS regclass)"), {"t": table}).scalar_one()


def on_node(database_url, node: str, user: str | None = None) -> psycopg.Connection:
    """A direct connection to a node of the cluster, as `user` (default: the test's)."""
    host, port = node.rsplit(":", 1)
    options = {"host": host, "port": port, **({"user": user} if user else {})}
    return psycopg.connect(make_conninfo(database_url, **options), autocommit=True)


def test_a_new_city_is_a_distributed_schema_on_a_worker(app_context, make_city, database_url):
    town = make_city("placed")
    where = placements()[town.slug]
    assert where.distributed and where.size_bytes > 0
    assert where.node in {str(worker) for worker in workers(database_url)}
    with db.engine.connect() as connection:
        tables, single_shard = connection.execute(sa.text(
            "SELECT count(*), count(p.logicalrelid) FROM pg_class c "
            "LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid AND p.partmethod = 'n' "
            "WHERE c.relnamespace = CAST(:s AS regnamespace) AND c.relkind = 'r'"),
            {"s": town.schema}).one()
    assert tables > 10 and single_shard == tables  # every table lives whole on that worker


def test_a_city_role_cannot_read_another_citys_shard_on_the_worker(app, cities, database_url):
    alpha, beta = cities["alpha"], cities["beta"]
    with tenant_context(beta, app):
        db.session.add(AuditEntry(actor="beta-secret", action="test.worker"))
        db.session.commit()
        node = placements()[beta.slug].node
        shard = shard_of(f"{beta.schema}.audit_log")
    # beta's own role reads its shard on the worker: the connection and the name are right
    with on_node(database_url, node, user=beta.db_role) as own:
        assert own.execute(f"SELECT count(*) FROM {shard} WHERE actor = 'beta-secret'"
                           ).fetchone()[0] >= 1
    with on_node(database_url, node, user=alpha.db_role) as other:
        for table in (shard, f"{beta.schema}.audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                other.execute(f"SELECT actor FROM {table}")


def test_worker_connections_do_not_grow_with_the_cities_served(app, make_city, database_url):
    towns = [make_city("fan-out") for _ in range(4)]
    for town in towns:  # each city's transaction reaches its worker as the city's role
        with tenant_context(town, app):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
    roles = [town.db_role for town in towns]
    for worker in workers(database_url):
        with on_node(database_url, str(worker)) as node:
            left = node.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(%s)",
                                (roles,)).fetchone()[0]
        assert left == 0, f"{worker} keeps {left} connections of the cities' roles"


def test_the_payments_finality_trigger_runs_on_the_shard(app, make_city, database_url):
    town = make_city("finality")
    with tenant_context(town, app):
        db.session.execute(sa.text(
            "INSERT INTO payments (reference, kind, description, amount_fen, status, provider, "
            "idempotency_key, fingerprint, expires_at, paid_at, receipt_number, captured_fen, "
            "captured_at) VALUES ('ref-final', 'test', 'A fine', 100, 'success', 'sandbox', "
            "'key-final', 'f', now(), now(), 'R-1', 100, now())"))
        db.session.commit()
        with pytest.raises(sa.exc.DBAPIError, match="is finished"):
            db.session.execute(sa.text(
                "UPDATE payments SET status = 'failed' WHERE reference = 'ref-final'"))
        db.session.rollback()
        node, shard = placements()[town.slug].node, shard_of(f"{town.schema}.payments")
    with on_node(database_url, node) as worker:
        triggers = worker.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            (shard,)).fetchall()
    # Citus names the shard's copy of the trigger after the shard, as the shard itself
    assert [name for (name,) in triggers] == [
        "payments_finished_is_final_" + shard.rsplit("_", 1)[1]]


def test_an_imported_city_is_distributed_after_its_restore(app, make_city, new_slug, tmp_path,
                                                           uploads):
    town = make_city("travels")
    with tenant_context(town, app):
        db.session.add(AuditEntry(actor="traveller", action="test.import"))
        db.session.commit()
    with app.app_context():
        archive = export_city(town.slug, tmp_path / "town.tar.gz").path
        slug = new_slug("arrived")
        copy = import_city(archive, slug=slug, domains=[f"{slug}.test"]).tenant
        where = placements()[copy.slug]
    assert where.distributed and where.node is not None
    with tenant_context(copy, app):
        assert db.session.scalars(sa.select(AuditEntry.actor).where(
            AuditEntry.action == "test.import")).all() == ["traveller"]


def test_a_city_moves_to_the_other_worker_while_it_is_written(app, make_city, cli,
                                                               database_url):
    town = make_city("mover")
    with app.app_context():
        source = placements()[town.slug].node
    target = next(str(w) for w in workers(database_url) if str(w) != source)
    written, failures, stop = [], [], threading.Event()

    def write():
        while not stop.is_set():
            try:
                with tenant_context(town, app):
                    db.session.add(AuditEntry(actor="during-move", action="test.move"))
                    db.session.commit()
                written.append(1)
            except Exception as error:  # counted: the move must cause none
                failures.append(error)
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while not written and not failures:
            time.sleep(0.01)
        result = cli.invoke(args=["tenants", "move", town.slug, "--to", target])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert f"moved city {town.slug} from {source} to {target}" in result.output
    assert failures == [] and len(written) > 1
    with app.app_context():
        assert placements()[town.slug].node == target
        with db.engine.connect() as connection:
            detail = connection.execute(sa.text(
                "SELECT detail FROM platform.audit_log WHERE tenant_slug = :s "
                "AND action = 'tenant.move'"), {"s": town.slug}).scalar_one()
    assert (detail["before"], detail["after"]) == (source, target)
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).where(
            AuditEntry.actor == "during-move")) == len(written)


def test_a_move_to_an_unknown_node_or_where_it_is_is_refused(app, make_city, cli):
    town = make_city("stays")
    with app.app_context():
        here = placements()[town.slug].node
    unknown = cli.invoke(args=["tenants", "move", town.slug, "--to", "127.0.0.1:1"])
    assert unknown.exit_code == 1
    assert "127.0.0.1:1 is not a node of this cluster" in unknown.output
    same = cli.invoke(args=["tenants", "move", town.slug, "--to", here])
    assert same.exit_code == 1 and "already on" in same.output
    with app.app_context():
        assert placements()[town.slug].node == here


@pytest.fixture()
def bare_database(database_url):
    """A database of its own on the cluster, not bootstrapped, and a login role that is not a
    superuser (the application's, as production has it); both dropped afterwards everywhere."""
    server = make_url(database_url).set(database="postgres").render_as_string(False)
    name = make_url(database_url).database + "_bare"
    role = f"{name}_app"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        oid = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]
    with psycopg.connect(make_url(server).set(database=name).render_as_string(False),
                         autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    yield make_url(database_url).set(database=name), role
    citus.drop_database(server, name, f"civic_{oid}_")
    citus.drop_database(server, name, role)


def test_after_the_bootstrap_a_role_that_is_no_superuser_runs_the_platform(bare_database):
    url, role = bare_database
    as_app = url.set(username=role).render_as_string(False)
    with pytest.raises(citus.CitusError, match="needs a superuser"):
        citus.bootstrap(as_app, role)
    with pytest.raises(citus.CitusError, match="can't connect to the worker 127.0.0.1:1"):
        citus.bootstrap(url.render_as_string(False), workers=[citus.Node("127.0.0.1", 1)])
    citus.bootstrap(url.render_as_string(False))  # the database, not yet the role
    app = create_app({"CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": as_app,
                      "TENANT_DIRECTORY_REFRESH_SECONDS": 0})
    refused = app.test_cli_runner().invoke(args=["platform", "migrate"])
    assert refused.exit_code == 1
    assert f"the role {role} is not set up on the Citus workers" in refused.output
    assert f"flask platform bootstrap-citus --app-role {role}" in refused.output

    admin = create_app({"CIVIC_ENV": "test", "TESTING": True,
                        "DATABASE_URL": url.render_as_string(False)})
    result = admin.test_cli_runner().invoke(args=["platform", "bootstrap-citus",
                                                  "--app-role", role])
    assert result.exit_code == 0, result.output
    assert "registered" not in result.output  # done by the first bootstrap
    assert f"copied the role {role} to every worker" in result.output
    assert f"checked: {role} can make a distributed schema" in result.output
    again = admin.test_cli_runner().invoke(args=["platform", "bootstrap-citus",
                                                 "--app-role", role])
    assert again.exit_code == 0 and "copied" not in again.output  # nothing left to do
    with admin.app_context():
        db.engine.dispose()

    with app.app_context():
        migrate_platform()
        town = create_tenant("bootstrapped", "Bootstrapped", ["bootstrapped.test"])
        source = placements()[town.slug]
        assert source.distributed
        with tenant_context(town):
            db.session.add(AuditEntry(actor="app-role", action="test.bootstrap"))
            db.session.commit()
        target = next(w for w in workers(as_app) if str(w) != source.node)
        assert move_city(town.slug, str(target)).target == str(target)
        with tenant_context(town):
            assert db.session.scalar(sa.select(AuditEntry.actor)) == "app-role"
        delete_tenant(town.slug)
        db.engine.dispose()
    app.extensions["tenant_directory"].close()
