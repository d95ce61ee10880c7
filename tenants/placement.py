"""Where each city's data lives, and moving a city to another node of a Citus cluster.

On Citus every city is a distributed schema: all its tables are single-shard tables of one
colocation group, so the whole city lives on one node and moves as one (`citus_schema_move`,
online: logical replication copies it while it is in use, writes wait only for the switch).
On plain PostgreSQL there is one node and nothing to move; `placements` still answers, with
each city's size. `flask tenants placement` and `flask tenants move` are the CLI over this.
"""
import logging
import time
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from tenants import citus
from tenants.db import db
from tenants.naming import validate_slug
from tenants.provisioning import _audit, _tenant_info

log = logging.getLogger(__name__)

LOCAL = "local"  # the node of every city on plain PostgreSQL


class PlacementError(Exception):
    """A city can't be moved; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Placement:
    """`node`: "host:port" of the node holding the city's tables on Citus, "local" on plain
    PostgreSQL, None for a distributed schema that has no table yet. `distributed`: the schema
    is a Citus distributed schema (False on plain PostgreSQL, and on Citus for a schema made
    before Citus was there, which stays on the coordinator until it is distributed)."""
    node: str | None
    size_bytes: int
    distributed: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


# Tables and their indexes, TOAST included, of the schemas asked about, as stored on this node.
_LOCAL_SIZES_SQL = sa.text(
    "SELECT n.nspname, sum(pg_total_relation_size(c.oid)) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(:schemas) GROUP BY n.nspname"
)
# One query for the whole fleet: citus_shards asks every node for its shards' sizes once.
_SHARDS_SQL = sa.text(
    "SELECT n.nspname, s.nodename, s.nodeport, sum(coalesce(s.shard_size, 0)) "
    "FROM pg_catalog.citus_shards s JOIN pg_class c ON c.oid = s.table_name "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE s.citus_table_type = 'schema' AND n.nspname = ANY(:schemas) "
    "GROUP BY n.nspname, s.nodename, s.nodeport"
)
_DISTRIBUTED_SQL = sa.text(
    "SELECT n.nspname FROM pg_dist_schema d JOIN pg_namespace n ON n.oid = d.schemaid "
    "WHERE n.nspname = ANY(:schemas)"
)
_COORDINATOR_SQL = sa.text(
    "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0 AND noderole = 'primary'"
)


def placements() -> dict[str, Placement]:
    """{slug: Placement} of every city (retired ones too), in slug order: which node holds it
    and how many bytes its tables and indexes take there. Works on plain PostgreSQL (every
    node "local") and on a Citus coordinator; a few queries whatever the number of cities."""
    with db.engine.connect() as connection:
        cities = connection.execute(sa.text(
            "SELECT slug, schema_name FROM platform.tenants ORDER BY slug")).all()
        schemas = [schema for _, schema in cities]
        local = dict(connection.execute(_LOCAL_SIZES_SQL, {"schemas": schemas}).all())
        if not citus.present(connection):
            return {slug: Placement(LOCAL, int(local.get(schema) or 0))
                    for slug, schema in cities}
        distributed = set(connection.execute(_DISTRIBUTED_SQL, {"schemas": schemas}).scalars())
        shards = {schema: (str(citus.Node(host, port)), int(size)) for schema, host, port, size
                  in connection.execute(_SHARDS_SQL, {"schemas": schemas})}
        coordinator = connection.execute(_COORDINATOR_SQL).first()
    on_coordinator = str(citus.Node(*coordinator)) if coordinator else LOCAL
    found = {}
    for slug, schema in cities:
        if schema in distributed:
            node, size = shards.get(schema, (None, 0))
            found[slug] = Placement(node, size, distributed=True)
        else:
            found[slug] = Placement(on_coordinator, int(local.get(schema) or 0))
    return found


@dataclass(frozen=True)
class Moved:
    slug: str
    source: str
    target: str
    seconds: float


def _nodes(connection) -> list[citus.Node]:
    return [citus.Node(host, port) for host, port in connection.execute(sa.text(
        "SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND isactive "
        "AND shouldhaveshards ORDER BY nodeid"))]


def move_city(slug: str, to: str, by: str | None = None) -> Moved:
    """Move the city `slug` to the node `to` ("host:port", as registered in the cluster), with
    its data and while it is in use (`citus_schema_move`, shard transfer mode auto: logical
    replication). Recorded in the platform audit log as `tenant.move`. Raises PlacementError
    (or InvalidName, ProvisioningError for an unknown city), changing nothing."""
    validate_slug(slug)
    target = citus.parse_node(to) if isinstance(to, str) else to
    with db.engine.connect() as connection:
        tenant = _tenant_info(connection, slug)
        if not citus.present(connection):
            raise PlacementError("this database is plain PostgreSQL, without Citus: every city "
                                 "is on its one server, there is no node to move it to "
                                 "(docs/scaling.md)")
        nodes = _nodes(connection)
    if target not in nodes:
        known = ", ".join(map(str, nodes)) or "none"
        raise PlacementError(f"{target} is not a node of this cluster that holds cities "
                             f"(nodes: {known})")
    before = placements()[slug]
    if not before.distributed:
        raise PlacementError(f"the city {slug!r} is not a distributed schema (it was made "
                             "before Citus): distribute it first, see 'Cities made before "
                             "Citus' in docs/scaling.md")
    if before.node == str(target):
        raise PlacementError(f"the city {slug!r} is already on {target}")
    started = time.perf_counter()
    # Its own connection, outside any transaction: the move commits in steps on the nodes.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            connection.execute(
                sa.text("SELECT citus_schema_move(CAST(:schema AS regnamespace), :host, :port)"),
                {"schema": tenant.schema, "host": target.host, "port": target.port})
        except sa.exc.DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0]
            raise PlacementError(f"Citus refused to move {slug!r} to {target}: {reason}") from None
    moved = Moved(slug, before.node, str(target), time.perf_counter() - started)
    with db.engine.begin() as connection:
        _audit(connection, "tenant.move", slug, by, before=moved.source, after=moved.target,
               size_bytes=before.size_bytes, seconds=round(moved.seconds, 3))
    log.info("moved the city %s from %s to %s in %.1f s", slug, moved.source,
                            moved.target, moved.seconds)
    return moved
