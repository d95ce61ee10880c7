"""How long provisioning one city takes, against the physical limit.

Measured, per city: the wall time of `create_tenant` (platform rows, role, schema, every table,
grants, one transaction), and beside it the raw limit: the same schema's DDL sent with psycopg
as one transaction per schema (`CREATE SCHEMA; SET LOCAL search_path; <version table>; <DDL>`,
each statement on its own in one pipeline, as the app sends them; on Citus with schema-based
sharding on, so the raw schema is distributed too), the two interleaved city by city.
Twice: (a) the app's city schema as it is, (b) the same with --extra-tables synthetic tables
(default 20) added to the metadata before any provisioning, to see how the cost grows with the
schema. The first city of each run is timed apart
(cold: DDL compilation, migration scripts loaded).
DATABASE_URL names the server (a Citus coordinator: the scratch database is bootstrapped).

Goal (issue): p95 within 1.5x the raw DDL and under 300 ms. django-tenants needs 0.32 s per city
for a 20-table schema, 5.7x its raw DDL (56 ms).
"""
import argparse

import _common
import psycopg
import sqlalchemy as sa

from tenants.citus import CITY_DDL_SETTING
from tenants.db import city_tables, db, execute_statements
from tenants.provisioning import VERSION_TABLE_DDL, city_schema_ddl, create_tenant

GOAL_RATIO, GOAL_P95 = 1.5, 0.300
DJANGO_TENANTS = "0.32 s, 5.7x raw (56 ms)"


def add_synthetic_tables(metadata: sa.MetaData, count: int) -> None:
    """Declare `count` more city tables (schema=None). Each: a BIGINT identity key,
    varchar/text/numeric/timestamptz/jsonb columns, a foreign key to an earlier synthetic
    table (but the first) and one or two indexes."""
    added = []
    for number in range(count):
        name = f"bench_record_{number:02d}"
        columns = [
            sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
            sa.Column("reference", sa.String(40), nullable=False),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
            sa.Column("body", sa.Text, nullable=False, server_default=""),
            sa.Column("amount", sa.Numeric(12, 2)),
            sa.Column("data", sa.dialects.postgresql.JSONB, nullable=False,
                      server_default=sa.text("'{}'::jsonb")),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.now()),
            sa.Column("updated_at", sa.DateTime(timezone=True)),
        ]
        if added:
            parent = added[number // 2] if number > 1 else added[0]
            columns.append(sa.Column(
                "parent_id", sa.BigInteger,
                sa.ForeignKey(parent.c.id, ondelete="CASCADE"), index=True,
            ))
        table = sa.Table(name, metadata, *columns, schema=None)
        sa.Index(f"ix_{name}_status_created_at", table.c.status, table.c.created_at)
        added.append(table)


def measure(label: str, cities: int, extra_tables: int = 0) -> dict:
    """Provision `cities` cities (plus a cold first one) and as many raw schemas in a scratch
    database; returns the samples."""
    with _common.scratch_app(label) as scratch:
        add_synthetic_tables(db.metadata, extra_tables)

        def provision(n):
            slug = f"{label}-{n:04d}"
            return create_tenant(slug, f"City {n}", [f"{slug}.bench.example"],
                                 name_zh=f"城市{n}")

        result = {"provision_cold": _common.timed(provision, 0)[1], "provision": [], "raw": []}
        ddl = city_schema_ddl(db.metadata, len(db.metadata.tables), db.engine.dialect)
        tables = city_tables(db.metadata)
        result.update(tables=len(tables), indexes=sum(len(t.indexes) for t in tables))
        sharding = ["SET LOCAL citus.enable_schema_based_sharding TO on",
                    CITY_DDL_SETTING] if scratch.citus else []
        with psycopg.connect(scratch.uri) as raw:
            def raw_schema(n):
                with raw.transaction():
                    execute_statements(raw, [
                        *sharding, f'CREATE SCHEMA "raw_{label}_{n:04d}"',
                        f'SET LOCAL search_path TO "raw_{label}_{n:04d}"',
                        VERSION_TABLE_DDL, *ddl])

            result["raw_cold"] = _common.timed(raw_schema, 0)[1]
            for n in range(1, cities + 1):
                result["provision"].append(_common.timed(provision, n)[1])
                result["raw"].append(_common.timed(raw_schema, n)[1])
    return result


def report(results: dict[str, dict]) -> None:
    rows, goals = [], []
    for name, result in results.items():
        schema = f"{name} ({result['tables']} tables, {result['indexes']} indexes)"
        create, raw = (_common.percentiles(result[key]) for key in ("provision", "raw"))
        for measured, stats, cold in (("create_tenant", create, result["provision_cold"]),
                                      ("raw DDL", raw, result["raw_cold"])):
            rows.append([schema, measured, stats["n"], _common.ms(stats["p50"]),
                         _common.ms(stats["p95"]), _common.ms(stats["mean"]),
                         _common.ms(stats["max"]), _common.ms(cold)])
        ratios = {key: create[key] / raw[key] for key in ("p50", "p95", "mean")}
        rows.append([schema, "ratio create/raw", "", f"{ratios['p50']:.2f}x",
                     f"{ratios['p95']:.2f}x", f"{ratios['mean']:.2f}x", "", ""])
        goals.append([
            schema, f"{ratios['p95']:.2f}x", "yes" if ratios["p95"] <= GOAL_RATIO else "NO",
            _common.ms(create["p95"]), "yes" if create["p95"] < GOAL_P95 else "NO",
        ])
    _common.print_table(
        "Provisioning, per city (warm; the cold first city is apart)",
        ["schema", "measured", "n", "p50", "p95", "mean", "max", "first (cold)"], rows,
    )
    _common.print_table(
        f"Goals: p95 within {GOAL_RATIO}x raw DDL and under {GOAL_P95 * 1000:.0f} ms "
        f"(django-tenants, 20 tables: {DJANGO_TENANTS})",
        ["schema", "p95 ratio", f"<= {GOAL_RATIO}x", "p95", f"< {GOAL_P95 * 1000:.0f} ms"],
        goals,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=30,
                        help="cities timed per schema, besides the cold first (default 30, "
                             "at least 20)")
    parser.add_argument("--extra-tables", type=int, default=20,
                        help="synthetic tables added to the city schema in the second run "
                             "(default 20)")
    args = parser.parse_args()
    if args.extra_tables < 1:
        parser.error("--extra-tables must be at least 1")
    if args.cities < 20:
        parser.error("--cities must be at least 20 (a p95 needs them)")
    results = {}
    # (a) before (b): (b) adds tables to the process-wide metadata.
    results["current"] = measure("current", args.cities)
    results[f"+{args.extra_tables} synthetic"] = measure("synthetic", args.cities,
                                                         args.extra_tables)
    report(results)
    _common.describe_run()


if __name__ == "__main__":
    main()
