"""The live analytics dashboard with a year of data: --rows records (default 100,000) in each
table a figure reads, spread over the last 365 days, then every figure's query and the whole
figures fragment (/admin/dashboard/figures) timed, p50/p95 over --runs runs, and each figure's
plan checked for the index it should use.

The data is made in one city of a scratch database with INSERT … SELECT FROM generate_series,
filling each table from its model (app metadata), so the bench follows the models as they
change: a timestamp column gets the row's moment (nullable ones are NULL for one row in four:
not yet paid, not checked in …), a column restricted by a `col IN (…)` check cycles through its
values, `*_fen` columns get amounts, unique strings get the row number, a required foreign key
points at rows of a table made before (or at one row made for it). OVERRIDES adds what a
generic rule can't know (rows paid exactly when their status says so).

    .venv/bin/python bench/dashboard.py [--rows 100000] [--runs 30]
"""
import argparse
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import _common
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from tenants.context import tenant_context
from tenants.db import db

CITY = "bench-dash"
HOST = "bench-dash.bench.example"
PASSWORD = "bench password 1"
# The tables the figures read, in the order they are filled (their models' table names).
TABLES = ("users", "appointment_slots", "appointments", "passport_applications",
          "traffic_fines", "utility_bills", "payments", "service_requests")
# What a generic rule can't know, by table and column (SQL over `i`, the row number, `t`,
# its moment, and `n`, the number of rows).
PAID_EVERY_THIRD = "CASE WHEN i % 3 = 0 THEN {} END"
OVERRIDES = {
    "payments": {
        "status": "CASE WHEN i % 3 = 0 THEN 'success' ELSE 'created' END",
        "paid_at": PAID_EVERY_THIRD.format("t"),
        "receipt_number": PAID_EVERY_THIRD.format("'R' || i"),
        "refunded_fen": "0",
    },
    "appointment_schedules": {"weekday": "i % 7", "start_time": "'08:00'",
                              "end_time": "'17:00'", "slot_minutes": "30", "capacity": "10"},
    "appointment_slots": {"capacity": "10", "booked": "i % 11"},
}
_IN_CHECK = re.compile(r"^\s*\(?\s*(\w+)\s+IN\s*\((.*)\)\s*\)?\s*$", re.IGNORECASE | re.DOTALL)


def allowed_values(table: sa.Table) -> dict[str, list[str]]:
    """Columns restricted by a plain `column IN ('a', 'b')` check, with their values."""
    found = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            match = _IN_CHECK.match(str(constraint.sqltext))
            if match:
                found[match.group(1)] = re.findall(r"'([^']*)'", match.group(2))
    return found


def column_sql(table: sa.Table, column: sa.Column, parents: dict[str, tuple[int, int]],
               checks: dict[str, list[str]]) -> str | None:
    """The SQL that fills `column` for row i (None: leave it to its default or NULL)."""
    override = OVERRIDES.get(table.name, {}).get(column.name)
    if override is not None:
        return override
    if column.primary_key and column.identity is not None:
        return None
    if column.foreign_keys:
        if column.nullable:
            return None
        (key,) = column.foreign_keys
        first, count = parents[key.column.table.name]
        if key.column.name != "id":  # a natural key: the parent's first row's
            return f'(SELECT "{key.column.name}" FROM "{key.column.table.name}" LIMIT 1)'
        return f"{first} + i % {count}"
    if column.name in checks:
        values = ", ".join(f"'{v}'" for v in checks[column.name])
        return f"(ARRAY[{values}])[1 + i % {len(checks[column.name])}]"
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return "CASE WHEN i % 4 <> 0 THEN t END" if column.nullable else "t"
    if isinstance(kind, sa.Date):
        return "(t AT TIME ZONE 'Asia/Shanghai')::date + 10"
    if column.name.endswith("_fen"):
        return "100 + i % 50000"
    if column.server_default is not None or column.nullable:
        return None
    if isinstance(kind, sa.String | sa.Text):
        length = getattr(kind, "length", None) or 40
        value = "'b' || i" if column.unique else "'x'"
        return f"left({value}, {length})"
    if isinstance(kind, sa.Boolean):
        return "false"
    if isinstance(kind, sa.Integer | sa.Numeric):
        return "1 + i % 1000"
    if isinstance(kind, sa.Time):
        return "'09:00'"
    if isinstance(kind, JSONB | sa.JSON):
        return "'{}'"
    if isinstance(kind, ARRAY):
        return "'{}'"
    raise ValueError(f"no rule for {table.name}.{column.name} ({kind})")


def fill(table: sa.Table, rows: int, parents: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Insert `rows` rows into `table` (first making one row of each parent it needs);
    returns (its first id, rows)."""
    for column in table.columns:
        for key in column.foreign_keys:
            parent = key.column.table
            if not column.nullable and parent.name not in parents:
                parents[parent.name] = fill(parent, 1, parents)
    checks = allowed_values(table)
    columns = {column.name: sql for column in table.columns
               if (sql := column_sql(table, column, parents, checks)) is not None}
    names = ", ".join(f'"{name}"' for name in columns)
    if not columns:  # every column has a default: rows of defaults
        db.session.execute(sa.text(f'INSERT INTO "{table.name}" SELECT FROM '
                                   "generate_series(1, :n)"), {"n": rows})
        return db.session.scalar(sa.text(f'SELECT min(id) FROM "{table.name}"')), rows
    db.session.execute(sa.text(
        f'INSERT INTO "{table.name}" ({names}) '
        f"SELECT {', '.join(columns.values())} FROM ("
        "SELECT i, now() - interval '365 days' * ((i + random() * 0.5) / :n) AS t "
        "FROM generate_series(1, :n) AS i) AS g"), {"n": rows})
    first = db.session.scalar(sa.text(f'SELECT min(id) FROM "{table.name}"'))
    return first, rows


def make_data(app, tenant, rows: int) -> list[str]:
    """Fill the tables that exist; returns the names of those that don't."""
    tables = db.metadata.tables
    missing = [name for name in TABLES if name not in tables]
    parents: dict[str, tuple[int, int]] = {}
    with tenant_context(tenant, app):
        for name in TABLES:
            if name in tables:
                parents[name], took = _common.timed(fill, tables[name], rows, parents)
                print(f"  {name}: {rows:,} rows in {took:.1f} s", file=sys.stderr)
        db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in TABLES:
            if name in tables:
                connection.exec_driver_sql(f'VACUUM ANALYZE "{tenant.schema}"."{name}"')
    return missing


def enable_modules(app, tenant) -> list:
    from app.modules import configure, discover, enabled_modules

    with tenant_context(tenant, app):
        configure(enable=[key for key, module in discover().items() if module.figures])
        db.session.commit()
        return enabled_modules()


def figure_plans(app, tenant) -> list[tuple]:
    """(figure, the statements its query ran, their plans) of every figure."""
    from app.admin.dashboard import CITY_FIGURES, values_of
    from app.modules import enabled_modules

    results, this_thread = [], threading.get_ident()
    with tenant_context(tenant, app), app.test_request_context(headers={"Host": HOST}):
        today = datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date()
        figures = [*CITY_FIGURES, *(f for m in enabled_modules() for f in m.figures)]
        for figure in figures:
            statements = []

            def capture(conn, cursor, statement, parameters, context, executemany,
                        into=statements):
                if threading.get_ident() == this_thread:  # not the directory's poller
                    into.append((statement, parameters))

            sa.event.listen(db.engine, "before_cursor_execute", capture)
            try:
                values = values_of(figure, today, tenant.timezone)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", capture)
            connection = db.session.connection()
            plans = [
                "\n".join(row[0] for row in connection.exec_driver_sql(
                    "EXPLAIN " + statement, parameters))
                for statement, parameters in statements
                if statement.lstrip().upper().startswith("SELECT")
                and "set_config" not in statement]
            results.append((figure, values, plans))
    return results


def time_figures(app, tenant, runs: int) -> list[list]:
    from app.admin.dashboard import CITY_FIGURES, values_of
    from app.modules import enabled_modules

    rows = []
    with tenant_context(tenant, app), app.test_request_context(headers={"Host": HOST}):
        today = datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date()
        figures = [*CITY_FIGURES, *(f for m in enabled_modules() for f in m.figures)]
        for figure in figures:
            samples = [_common.timed(values_of, figure, today, tenant.timezone)[1]
                       for _ in range(runs)]
            stats = _common.percentiles(samples)
            rows.append([figure.key, _common.ms(stats["p50"]), _common.ms(stats["p95"]),
                         _common.ms(stats["max"])])
    return rows


def signed_in_client(app, tenant):
    """A test client signed in to the console as an administrator (second factor passed)."""
    import pyotp

    from app.accounts import hash_password
    from app.accounts.models import User
    from app.staff import staff_second_factor as second_factor
    from app.staff.models import StaffMember

    with tenant_context(tenant, app):
        user = User(email="bench-admin@example.com", password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        staff = StaffMember(user_id=user.id, role="admin", modules=[], active=True)
        db.session.add(staff)
        db.session.flush()
        secret = pyotp.random_base32()
        second_factor.confirm(staff, secret, step=0)
        db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    headers = {"Host": HOST}
    assert client.post("/admin/login", headers=headers, data={
        "identifier": "bench-admin@example.com", "password": PASSWORD}).status_code == 302
    assert client.post("/admin/2fa", headers=headers, data={
        "code": pyotp.TOTP(secret).now()}).status_code == 302
    return client


def time_fragment(app, tenant, runs: int) -> tuple[dict, int]:
    """In a thread of its own: this one's application context would otherwise serve the
    requests too (one session, `g` kept between them), as it never does in a server."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_time_requests, app, tenant, runs, db.engine).result()


def _time_requests(app, tenant, runs: int, engine: sa.Engine) -> tuple[dict, int]:
    client = signed_in_client(app, tenant)
    statements, this_thread = [0], threading.get_ident()

    def count(*args):  # the directory's poller runs statements in a thread of its own
        if threading.get_ident() == this_thread:
            statements[0] += 1

    samples = []
    for run in range(runs + 1):
        if run == 1:
            sa.event.listen(engine, "before_cursor_execute", count)
        response, took = _common.timed(client.get, "/admin/dashboard/figures",
                                       headers={"Host": HOST})
        assert response.status_code == 200, response.status_code
        if run:  # the first request warms up templates and caches
            samples.append(took)
    sa.event.remove(engine, "before_cursor_execute", count)
    return _common.percentiles(samples), statements[0] // runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="records per table (default 100000)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs (default 30)")
    options = parser.parse_args()
    from tenants.provisioning import create_tenant

    with _common.scratch_app("dashboard") as scratch:
        app = scratch.app
        tenant = create_tenant(CITY, "Bench", [HOST], name_zh="基准市", locale="en")
        modules = enable_modules(app, tenant)
        print(f"filling {len(TABLES)} tables with {options.rows:,} rows each …", file=sys.stderr)
        missing = make_data(app, tenant, options.rows)
        plans = figure_plans(app, tenant)
        figure_rows = time_figures(app, tenant, options.runs)
        fragment, statements = time_fragment(app, tenant, options.runs)

        _common.describe_run()
        print(f"rows:       {options.rows:,} per table over 365 days; modules enabled: "
              f"{', '.join(m.key for m in modules) or '-'}")
        if missing:
            print(f"not benched (no such table yet): {', '.join(missing)}")
        with app.test_request_context(headers={"Host": HOST}):
            from app.admin.dashboard import PERIODS

            shown = []
            for figure, values, _plans in plans:
                if values.days:
                    shown.append([figure.key, *(values.shown(values.totals[p])
                                                for p in PERIODS)])
                else:
                    shown.append([figure.key, "", "", values.shown(values.current)])
        _common.print_table("Figures (today / 7 days / 30 days, or now)",
                            ["figure", "today", "7 days", "30 days / now"], shown)
        _common.print_table(f"One figure's query, {options.runs} runs",
                            ["figure", "p50", "p95", "max"], figure_rows)
        _common.print_table(
            f"GET /admin/dashboard/figures, {options.runs} runs (after one warm-up)",
            ["p50", "p95", "mean", "max", "SQL statements per request"],
            [[_common.ms(fragment["p50"]), _common.ms(fragment["p95"]),
              _common.ms(fragment["mean"]), _common.ms(fragment["max"]), statements]])
        print("\nPlans (EXPLAIN):")
        for figure, _values, figure_plans_ in plans:
            for plan in figure_plans_:
                uses_index = "Index" in plan
                print(f"\n-- {figure.key}: {'index' if uses_index else 'NO INDEX'}")
                print(plan)


if __name__ == "__main__":
    main()
