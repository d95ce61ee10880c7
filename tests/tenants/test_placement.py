"""`flask tenants placement`, `flask tenants move` and `flask platform bootstrap-citus`: what
they answer on plain PostgreSQL and on Citus, their refusals and exit codes (the moves
themselves: tests/tenants/test_citus.py)."""
import json

import sqlalchemy as sa

from tenants.db import db


def test_placement_lists_every_city_with_its_node_and_size(cli, cities, on_citus):
    result = cli.invoke(args=["tenants", "placement", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["slug"]: row for row in json.loads(result.output)}
    assert {"alpha", "beta"} <= set(rows)
    for slug in ("alpha", "beta"):
        assert rows[slug]["size_bytes"] > 0
        if on_citus:  # a worker's address, not the single server's
            assert rows[slug]["distributed"] and ":" in rows[slug]["node"]
        else:
            assert (rows[slug]["node"], rows[slug]["distributed"]) == ("local", False)
    table = cli.invoke(args=["tenants", "placement"]).output
    alpha = next(line for line in table.splitlines() if line.startswith("alpha "))
    assert rows["alpha"]["node"] in alpha and ("kB" in alpha or "MB" in alpha)
    assert f"node {rows['alpha']['node']}: " in table


def test_a_move_names_a_known_city_and_a_node_address(cli, cities):
    unknown = cli.invoke(args=["tenants", "move", "no-such-city", "--to", "10.0.0.2:5432"])
    assert unknown.exit_code == 1 and "no city with the slug 'no-such-city'" in unknown.output
    for address in ("10.0.0.2", "10.0.0.2:99999", "a b:1"):
        bad = cli.invoke(args=["tenants", "move", "alpha", "--to", address])
        assert bad.exit_code == 1 and "is not a node address" in bad.output, address
    missing = cli.invoke(args=["tenants", "move", "alpha"])
    assert missing.exit_code == 2 and "Missing option '--to'" in missing.output


def test_a_move_is_refused_on_plain_postgresql(requires_plain_postgresql, cli, cities,
                                               app_context):
    result = cli.invoke(args=["tenants", "move", "alpha", "--to", "10.0.0.2:5432"])
    assert result.exit_code == 1
    assert "plain PostgreSQL, without Citus" in result.output
    with db.engine.connect() as connection:
        assert not connection.execute(sa.text(
            "SELECT count(*) FROM platform.audit_log WHERE action = 'tenant.move'")).scalar()


def test_the_bootstrap_says_what_is_missing_on_plain_postgresql(requires_plain_postgresql, cli,
                                                               app_context):
    with db.engine.connect() as connection:
        superuser, available = connection.execute(sa.text(
            "SELECT rolsuper, EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citus')"
            " FROM pg_roles WHERE rolname = current_user")).one()
    result = cli.invoke(args=["platform", "bootstrap-citus"])
    assert result.exit_code == 1
    expected = ("needs a superuser" if not superuser
                else "no worker nodes" if available else "the citus extension is not installed")
    assert expected in result.output
    with db.engine.connect() as connection:
        assert not connection.execute(sa.text(
            "SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar()
