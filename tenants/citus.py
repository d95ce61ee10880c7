"""Citus: how the application finds it, and the one-time superuser bootstrap of a database.

The application needs nothing else to run on a Citus coordinator: when the `citus` extension is
in its database, provisioning and import make every city a distributed schema (its tables live
whole on one node), and `tenants.placement` tells and changes where each city lives. What the
application's own role can't do for itself is the bootstrap, done once per database by a
superuser (`flask platform bootstrap-citus`, docs/scaling.md): the database and the extension
on every node, the nodes registered in that database, no cached worker connections, nothing of
the database for PUBLIC beyond CONNECT, and the role's rights on every node.
"""
import re
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

CITUS_PRESENT_SQL = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
# Citus keeps the coordinator in group 0 and one group per worker.
_NODES_SQL = (
    "SELECT groupid = 0, nodename, nodeport FROM pg_dist_node "
    "WHERE noderole = 'primary' AND isactive ORDER BY groupid, nodeid"
)
_NODE = re.compile(r"^(?:\[(?P<ipv6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$")


# Set wherever city DDL runs on Citus (provisioning, import, migrations). Citus refuses every
# trigger on a distributed table unless this is on, because a trigger on a shard that reads
# other tables may see them inconsistently. The city's triggers read only the row they guard
# (NEW and OLD), never another table, so they are safe on a shard (docs/scaling.md).
CITY_DDL_SETTING = "SET LOCAL citus.enable_unsafe_triggers TO on"


class CitusError(Exception):
    """A Citus operation can't be done; the message says why and what to do."""


@dataclass(frozen=True, order=True)
class Node:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_node(text: str) -> Node:
    """`HOST:PORT` (an IPv6 address in brackets) as a Node; CitusError if it is not one."""
    match = _NODE.match((text or "").strip())
    port = int(match.group("port")) if match else 0
    if not match or not 0 < port < 65536:
        raise CitusError(f"{text!r} is not a node address: give HOST:PORT, e.g. 10.0.0.2:5432")
    return Node(match.group("ipv6") or match.group("host"), port)


def present(connection) -> bool:
    """Whether the database of `connection` (psycopg or SQLAlchemy) has the citus extension."""
    if isinstance(connection, psycopg.Connection):
        return connection.execute(CITUS_PRESENT_SQL).fetchone()[0]
    return connection.exec_driver_sql(CITUS_PRESENT_SQL).scalar()


def registered_nodes(connection: psycopg.Connection) -> tuple[Node | None, list[Node]]:
    """The coordinator and the workers registered in the database of `connection` ((None, [])
    where Citus is absent)."""
    if not present(connection):
        return None, []
    coordinator, workers = None, []
    for is_coordinator, host, port in connection.execute(_NODES_SQL):
        if is_coordinator:
            coordinator = Node(host, port)
        else:
            workers.append(Node(host, port))
    return coordinator, workers


_READINESS_SQL = (
    "SELECT r.rolname, r.rolsuper, "
    "EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'), "
    "EXISTS (SELECT 1 FROM pg_dist_object WHERE classid = 'pg_authid'::regclass "
    "AND objid = r.oid) FROM pg_roles r WHERE r.rolname = current_user"
)


def readiness_problem(connection) -> str | None:
    """What keeps the current role from running the platform on this Citus coordinator (a
    message naming the bootstrap), or None. Call only where the extension is present."""
    if isinstance(connection, psycopg.Connection):
        role, superuser, workers, known = connection.execute(_READINESS_SQL).fetchone()
    else:
        role, superuser, workers, known = connection.exec_driver_sql(_READINESS_SQL).one()
    if not workers:
        return ("this database has the citus extension but no worker nodes registered: run "
                "the one-time bootstrap as a superuser (flask platform bootstrap-citus, "
                "docs/scaling.md)")
    if not (superuser or known):
        return (f"the role {role} is not set up on the Citus workers: run the one-time "
                f"bootstrap as a superuser: flask platform bootstrap-citus --app-role {role} "
                "(docs/scaling.md)")
    return None


def _at(uri: str, node: Node | None = None, dbname: str | None = None) -> str:
    """The same connection string (user, password, options) aimed at another node or database."""
    changes = {"dbname": dbname} if dbname else {}
    if node is not None:
        changes.update(host=node.host, port=str(node.port))
    return make_conninfo(uri, **changes)


def _ensure_database(maintenance_uri: str, name: str, where: str) -> bool:
    """Create the database `name` where `maintenance_uri` points, if it is missing."""
    with _connect(maintenance_uri, where) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def _connect(uri: str, where: str) -> psycopg.Connection:
    try:
        return psycopg.connect(uri, autocommit=True)
    except psycopg.OperationalError as error:
        raise CitusError(f"can't connect to {where}: {str(error).strip()}") from None


def _default_nodes(admin_uri: str) -> tuple[Node | None, list[Node]]:
    """The nodes registered in the server's maintenance database `postgres`, where a cluster's
    set-up usually registers them (Citus's packages, our .ci cluster)."""
    with _connect(_at(admin_uri, dbname="postgres"), "the coordinator's database postgres") \
            as connection:
        return registered_nodes(connection)


# What the application's role needs on every node: to make city roles (CREATEROLE) and city
# schemas (CREATE on the database). Citus connects to the workers as the current role.
_ROLE_GRANTS = (
    sql.SQL("ALTER ROLE {role} CREATEROLE"),
    sql.SQL("GRANT CREATE, CONNECT, TEMPORARY ON DATABASE {database} TO {role}"),
)
# What PostgreSQL gives every role in a database (PUBLIC) and no city role needs: temporary
# tables and the schema public (docs/security.md, "What a city role may do outside its
# schema"). The platform migration takes them back where the application's role owns the
# database; here it does not.
_PUBLIC_GRANTED_SQL = (
    "SELECT has_database_privilege('public', current_database(), 'CREATE, TEMPORARY') "
    "OR has_schema_privilege('public', 'public', 'CREATE, USAGE')"
)
_PUBLIC_REVOKES = (
    sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {database} FROM PUBLIC"),
    sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
)
# Run as the application's role, rolled back: a distributed schema with a table in it.
_PROBE = (
    "SET LOCAL citus.enable_schema_based_sharding TO on",
    "CREATE SCHEMA civic_bootstrap_probe",
    "CREATE TABLE civic_bootstrap_probe.probe (id bigint GENERATED BY DEFAULT AS IDENTITY "
    "PRIMARY KEY)",
    "INSERT INTO civic_bootstrap_probe.probe DEFAULT VALUES",
)


def bootstrap(admin_uri: str, app_role: str | None = None, workers: list[Node] | None = None,
              coordinator: Node | None = None) -> list[str]:
    """Make the database of `admin_uri` (a superuser's connection to the coordinator) ready for
    the application: the database and the citus extension on every worker, the extension on
    the coordinator, the coordinator and workers registered in it, no cached connections to the
    workers (unless the database sets it already), and, for `app_role`, the rights it needs on
    every node, checked by a probe run as that role. Workers and coordinator default to those
    registered in the server's `postgres` database. Idempotent; returns what it did, one line
    each. Raises CitusError with what is missing."""
    database = conninfo_to_dict(admin_uri).get("dbname")
    if not database:
        raise CitusError("the connection string names no database: the bootstrap prepares the "
                         "application's database, name it")
    done = []
    with _connect(admin_uri, f"the coordinator's database {database}") as coordinator_db:
        user, superuser, available = coordinator_db.execute(
            "SELECT current_user, rolsuper, EXISTS (SELECT 1 FROM pg_available_extensions "
            "WHERE name = 'citus') FROM pg_roles WHERE rolname = current_user").fetchone()
        if not superuser:
            raise CitusError(f"the bootstrap needs a superuser's connection; {user} is not one "
                             "(creating the citus extension and registering nodes need it)")
        if not available:
            raise CitusError("the citus extension is not installed on this server: install "
                             "Citus (and shared_preload_libraries = 'citus') on every node first")
        if app_role is not None and not coordinator_db.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (app_role,)).fetchone():
            raise CitusError(f"no role {app_role!r} on the coordinator: create the "
                             "application's role first (CREATE ROLE … LOGIN PASSWORD …)")
        if workers is None or coordinator is None:
            default_coordinator, default_workers = _default_nodes(admin_uri)
            workers = default_workers if workers is None else workers
            coordinator = coordinator or default_coordinator
        if not workers:
            raise CitusError("no worker nodes: give them (--worker HOST:PORT) or register them "
                             "in the coordinator's database postgres")
        for worker in workers:
            if _ensure_database(_at(admin_uri, worker, "postgres"), database,
                                f"the worker {worker}"):
                done.append(f"created the database {database} on {worker}")
            with _connect(_at(admin_uri, worker), f"the worker {worker}") as worker_db:
                if not present(worker_db):
                    worker_db.execute("CREATE EXTENSION citus")
                    done.append(f"created the citus extension on {worker}")
        if not present(coordinator_db):
            coordinator_db.execute("CREATE EXTENSION citus")
            done.append("created the citus extension on the coordinator")
        registered_coordinator, registered = registered_nodes(coordinator_db)
        if registered_coordinator is None:
            if coordinator is None:
                raise CitusError("the coordinator's address as the workers reach it is "
                                 "unknown: give it (--coordinator HOST:PORT)")
            coordinator_db.execute("SELECT citus_set_coordinator_host(%s, %s)",
                                   (coordinator.host, coordinator.port))
            done.append(f"registered the coordinator as {coordinator}")
        for worker in workers:
            if worker not in registered:
                coordinator_db.execute("SELECT citus_add_node(%s, %s)", (worker.host, worker.port))
                done.append(f"registered the worker {worker}")
        if _limit_cached_connections(coordinator_db, database):
            done.append(f"set citus.max_cached_conns_per_worker = 0 for {database}")
        for node in [None, *workers]:
            with _connect(_at(admin_uri, node) if node else admin_uri,
                          f"the node {node or 'coordinator'}") as node_db:
                if node_db.execute(_PUBLIC_GRANTED_SQL).fetchone()[0]:
                    # Each node by itself, as the grants below.
                    node_db.execute("SET citus.enable_ddl_propagation TO off")
                    for revoke in _PUBLIC_REVOKES:
                        node_db.execute(revoke.format(database=sql.Identifier(database)))
                    done.append(f"revoked TEMPORARY on {database} and the schema public from "
                                f"PUBLIC on {node or 'the coordinator'}")
        if app_role is not None:
            if _distribute_role(coordinator_db, app_role):
                done.append(f"copied the role {app_role} to every worker")
            for node in [None, *workers]:
                target = _at(admin_uri, node) if node else admin_uri
                with _connect(target, f"the node {node or 'coordinator'}") as node_db:
                    # Each node by itself: Citus does not propagate grants on a database it
                    # did not create.
                    node_db.execute("SET citus.enable_ddl_propagation TO off")
                    for grant in _ROLE_GRANTS:
                        node_db.execute(grant.format(role=sql.Identifier(app_role),
                                                     database=sql.Identifier(database)))
            done.append(f"granted {app_role} CREATEROLE and CREATE on {database} on every node")
            _probe(coordinator_db, app_role)
            done.append(f"checked: {app_role} can make a distributed schema")
    return done


def _limit_cached_connections(connection: psycopg.Connection, database: str) -> bool:
    """Close a coordinator backend's connection to a worker at the end of each transaction,
    unless the database already says otherwise; False if it does. Every city transaction runs
    as the city's role, and Citus keeps one idle connection per worker *and role* in each
    backend: left to that, a worker's connections grow with the number of cities served
    (docs/scaling.md, "Connections")."""
    if connection.execute(
            "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = %s AND s.setrole = 0 AND EXISTS (SELECT 1 FROM unnest("
            "s.setconfig) c WHERE starts_with(c, 'citus.max_cached_conns_per_worker='))",
            (database,)).fetchone():
        return False
    connection.execute(sql.SQL("ALTER DATABASE {} SET citus.max_cached_conns_per_worker = 0")
                       .format(sql.Identifier(database)))
    return True


def _distribute_role(connection: psycopg.Connection, role: str) -> bool:
    """Have Citus copy `role` (its attributes and password) to every worker and keep it in step
    there, as it does for a role created through it; False if it does so already. Citus knows
    nothing of a role made before its extension, and would copy it the first time the role
    creates a table, as that role, which may not alter roles. So the superuser gives the role
    a table of a distributed schema, made and dropped again: Citus copies the new owner first
    and remembers it."""
    if connection.execute(
            "SELECT 1 FROM pg_dist_object WHERE classid = 'pg_authid'::regclass "
            "AND objid = %s::regrole", (role,)).fetchone():
        return False
    with connection.transaction():
        connection.execute("SET LOCAL citus.enable_schema_based_sharding TO on")
        connection.execute("CREATE SCHEMA civic_bootstrap_role")
        connection.execute("CREATE TABLE civic_bootstrap_role.owned (id bigint)")
        connection.execute(sql.SQL("ALTER TABLE civic_bootstrap_role.owned OWNER TO {}").format(
            sql.Identifier(role)))
    connection.execute("DROP SCHEMA civic_bootstrap_role CASCADE")
    return True


def _probe(connection: psycopg.Connection, role: str) -> None:
    try:
        with connection.transaction(force_rollback=True):
            connection.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            for statement in _PROBE:
                connection.execute(statement)
    except psycopg.Error as error:
        raise CitusError(f"{role} still can't make a distributed schema: "
                         f"{str(error).strip()}") from None


def drop_database(server_uri: str, name: str, role_prefix: str | None = None) -> list[str]:
    """Drop the database `name`, then every role whose name starts with `role_prefix` (the
    city roles made in it; none without it), on the server of `server_uri` (a superuser's
    connection to its maintenance database) and, where that is a Citus coordinator, on every
    worker. Test runs and benchmarks clean up so. Returns the roles dropped on the
    coordinator."""
    with _connect(server_uri, "the server") as connection:
        _, workers = registered_nodes(connection)
    targets = [server_uri, *(_at(server_uri, worker) for worker in workers)]
    dropped = []
    for target in targets:
        with _connect(target, "a node") as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    for target in targets if role_prefix else ():
        with _connect(target, "a node") as connection:
            roles = [role for (role,) in connection.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) ORDER BY rolname",
                (role_prefix,))]
            for start in range(0, len(roles), 500):
                connection.execute(sql.SQL("DROP ROLE {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, roles[start:start + 500]))))
            if target == server_uri:
                dropped = roles
    return dropped
