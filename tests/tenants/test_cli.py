"""`flask platform …` and `flask tenants …`: messages, exit codes, JSON."""
import json

from tenants.migrations import tenant_head


def test_platform_migrate_twice_is_a_no_op(cli):
    result = cli.invoke(args=["platform", "migrate"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_create_prints_what_it_made_and_show_lists_it(cli, new_slug):
    slug = new_slug("cli")
    result = cli.invoke(args=["tenants", "create", slug, "--name", "Cli Town",
                              "--name-zh", "命令城",
                              "--domain", f"{slug}.test", "--domain", f"gov.{slug}.test",
                              "--locale", "en", "--timezone", "Asia/Harbin"])
    assert result.exit_code == 0, result.output
    assert f"city_{slug.replace('-', '_')}" in result.output
    shown = json.loads(cli.invoke(args=["tenants", "show", slug, "--json"]).output)
    assert shown["slug"] == slug and shown["name"] == "Cli Town" and shown["name_zh"] == "命令城"
    assert shown["domains"] == [f"{slug}.test", f"gov.{slug}.test"]
    assert shown["status"] == "active" and shown["version"] == tenant_head()
    assert shown["schema"].startswith("city_") and shown["db_role"].startswith("civic_")
    listed = json.loads(cli.invoke(args=["tenants", "list", "--json"]).output)
    assert slug in {city["slug"] for city in listed}
    table = cli.invoke(args=["tenants", "list"]).output
    assert slug in table and "behind head" not in table


def test_bad_input_gets_a_message_and_a_non_zero_exit(cli, new_slug, cities):
    slug = new_slug("cli-bad")
    cases = [
        (["tenants", "create", "Bad_Slug", "--name", "X", "--domain", "x.test"], "invalid slug"),
        (["tenants", "create", slug, "--name", "X", "--domain", "alpha.test"],
         "already belongs to the city alpha"),
        (["tenants", "create", slug, "--name", "X"], "Missing option '--domain'"),
        (["tenants", "create", slug, "--name", "X", "--domain", "x.test", "--locale", "fr"],
         "Invalid value for '--locale'"),
        (["tenants", "show", "no-such-city"], "no city with the slug"),
        (["tenants", "suspend", "no-such-city"], "no city with the slug"),
        (["tenants", "migrate"], "or give --all"),
        (["tenants", "migrate", "no-such-city"], "no city with the slug"),
    ]
    for args, message in cases:
        result = cli.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert json.loads(cli.invoke(args=["tenants", "show", "alpha", "--json"]).output)["slug"]
    assert "no city" in cli.invoke(args=["tenants", "show", slug]).output


def test_suspend_resume_and_delete(cli, client, make_city):
    tenant = make_city("cli-life")
    host = {"Host": tenant.domains[0]}
    assert cli.invoke(args=["tenants", "suspend", tenant.slug]).exit_code == 0
    assert client.get("/", headers=host).status_code == 503
    assert "already suspended" in cli.invoke(args=["tenants", "suspend", tenant.slug]).output
    assert cli.invoke(args=["tenants", "resume", tenant.slug]).exit_code == 0
    assert client.get("/", headers=host).status_code == 200

    refused = cli.invoke(args=["tenants", "delete", tenant.slug])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert client.get("/", headers=host).status_code == 200
    deleted = cli.invoke(args=["tenants", "delete", tenant.slug, "--yes"])
    assert deleted.exit_code == 0 and tenant.schema in deleted.output
    assert client.get("/", headers=host).status_code == 404


def test_migrate_all_reports_every_city_up_to_date(cli, cities):
    result = cli.invoke(args=["tenants", "migrate", "--all", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert "0 migrated" in result.output and "0 failed" in result.output


def test_list_and_show_json_say_when_a_city_was_retired_and_is_purged(cli, make_city):
    active, retired = make_city("cli-json"), make_city("cli-json")
    assert cli.invoke(args=["tenants", "retire", retired.slug, "--retention-days", "2",
                            "--yes"]).exit_code == 0
    listed = {city["slug"]: city for city in json.loads(
        cli.invoke(args=["tenants", "list", "--json"]).output)}
    assert listed[active.slug]["retired_at"] is None is listed[active.slug]["purge_after"]
    assert listed[retired.slug]["status"] == "retired"
    assert listed[retired.slug]["retired_at"] < listed[retired.slug]["purge_after"]
    shown = json.loads(cli.invoke(args=["tenants", "show", retired.slug, "--json"]).output)
    assert (shown["retired_at"], shown["purge_after"]) == (
        listed[retired.slug]["retired_at"], listed[retired.slug]["purge_after"])
    assert cli.invoke(args=["tenants", "restore", retired.slug]).exit_code == 0
