"""`flask platform …` and `flask tenants …`: what vendor staff run to manage the fleet."""
import json
import sys
from collections import Counter

import click
from flask.cli import AppGroup

from tenants import provisioning
from tenants.context import directory
from tenants.db import db
from tenants.migrations import (
    PLATFORM_TREE,
    TENANT_TREE,
    city_versions,
    migrate_platform,
    migrate_tenants,
    new_revision,
    tenant_head,
)
from tenants.models import LOCALES
from tenants.naming import InvalidName

platform_cli = AppGroup("platform", help="The platform schema (what belongs to the vendor).")
tenants_cli = AppGroup("tenants", help="Provision, list, migrate, suspend and delete cities.")


def _fail(error: Exception):
    raise click.ClickException(str(error))


def _as_dict(tenant, version) -> dict:
    return {
        "slug": tenant.slug, "name": tenant.name, "name_zh": tenant.name_zh,
        "status": tenant.status, "domains": list(tenant.domains), "schema": tenant.schema,
        "db_role": tenant.db_role, "locale": tenant.locale, "timezone": tenant.timezone,
        "version": version,
    }


def _with_versions(tenants) -> list[dict]:
    with db.engine.connect() as connection:
        versions = city_versions(connection, [t.schema for t in tenants])
    return [_as_dict(t, versions[t.schema]) for t in tenants]


def _fresh_directory():
    cities = directory()
    cities.mark_stale()
    return cities


@platform_cli.command("migrate")
def platform_migrate():
    """Create or upgrade the platform schema (a no-op when it is at head)."""
    before, after = migrate_platform()
    if before == after:
        click.echo(f"platform schema is up to date at {after}")
    else:
        click.echo(f"platform schema migrated from {before or 'nothing'} to {after}")


@tenants_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The city's name in English.")
@click.option("--name-zh", help="The city's name in Chinese (defaults to --name).")
@click.option("--domain", "domains", multiple=True, required=True,
              help="A host name the city's site answers at; repeat for several.")
@click.option("--locale", type=click.Choice(LOCALES), default="zh_Hans", show_default=True,
              help="The site's default language.")
@click.option("--timezone", default="Asia/Shanghai", show_default=True,
              help="IANA time zone of the city.")
def create(slug, name, name_zh, domains, locale, timezone):
    """Provision the city SLUG: its schema, database role and domains, in one transaction."""
    try:
        tenant = provisioning.create_tenant(slug, name, list(domains), name_zh=name_zh,
                                            locale=locale, timezone=timezone)
    except (InvalidName, provisioning.ProvisioningError) as error:
        _fail(error)
    click.echo(f"created city {tenant.slug} ({tenant.name} / {tenant.name_zh})")
    click.echo(f"  schema   {tenant.schema}")
    click.echo(f"  db role  {tenant.db_role}")
    click.echo(f"  domains  {', '.join(tenant.domains)}")
    click.echo(f"  version  {tenant_head()}")


@tenants_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json):
    """List every city with its status, domains and schema version."""
    rows = _with_versions(_fresh_directory().all())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no cities yet: flask tenants create SLUG --name NAME --domain HOST")
        return
    head = tenant_head()
    for row in rows:
        behind = "" if row["version"] == head else "  (behind head)"
        click.echo(f"{row['slug']:<20} {row['status']:<10} {row['version'] or '-':<14}"
                   f"{', '.join(row['domains'])}{behind}")


@tenants_cli.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(slug, as_json):
    """Show one city."""
    tenant = _fresh_directory().get(slug)
    if tenant is None:
        _fail(LookupError(f"no city with the slug {slug!r}"))
    (row,) = _with_versions([tenant])
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
        return
    for key, value in row.items():
        click.echo(f"{key:<10} {', '.join(value) if isinstance(value, list) else value}")


@tenants_cli.command("migrate")
@click.argument("slugs", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Migrate every city.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Cities migrated at the same time (worker processes).")
def migrate(slugs, all_, jobs):
    """Upgrade city schemas to the tenant migration head. Cities already there are skipped;
    a failing city is reported and the others go on; running again resumes."""
    from flask import current_app

    cities = _fresh_directory()
    if all_ == bool(slugs):
        raise click.UsageError("name the cities to migrate, or give --all (not both)")
    unknown = [slug for slug in slugs if cities.get(slug) is None]
    if unknown:
        _fail(LookupError(f"no city with the slug {', '.join(unknown)}"))
    tenants = cities.all() if all_ else [cities.get(slug) for slug in slugs]
    results = []
    lock_timeout = current_app.config["TENANT_MIGRATION_LOCK_TIMEOUT"]
    with click.progressbar(length=len(tenants), label="migrating cities",
                           file=sys.stderr) as bar:
        for result in migrate_tenants(tenants, jobs=jobs, lock_timeout=lock_timeout):
            results.append(result)
            bar.update(1)
    for result in sorted(results, key=lambda r: r.slug):
        if result.status == "migrated":
            click.echo(f"{result.slug:<20} migrated  {result.before} -> {result.after} "
                       f"in {result.seconds:.2f}s")
        elif result.status == "failed":
            click.echo(f"{result.slug:<20} FAILED    at {result.before}: {result.error}")
    counts = Counter(result.status for result in results)
    click.echo(f"{counts['migrated']} migrated, {counts['up to date']} up to date, "
               f"{counts['failed']} failed (head {tenant_head()})")
    if counts["failed"]:
        sys.exit(1)


def _set_status(slug, status, verb):
    try:
        tenant = provisioning.set_status(slug, status)
    except (InvalidName, provisioning.ProvisioningError) as error:
        _fail(error)
    click.echo(f"{verb} city {tenant.slug}")


@tenants_cli.command("suspend")
@click.argument("slug")
def suspend(slug):
    """Suspend a city: its sites answer 503 until it is resumed."""
    _set_status(slug, "suspended", "suspended")


@tenants_cli.command("resume")
@click.argument("slug")
def resume(slug):
    """Resume a suspended city."""
    _set_status(slug, "active", "resumed")


@tenants_cli.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: drop the city's schema, role and all its data.")
def delete(slug, yes):
    """Delete a city for good: its schema with all its data, its role and its domains."""
    if not yes:
        raise click.UsageError(
            f"this drops the city {slug!r} and all its data; add --yes to confirm"
        )
    try:
        tenant = provisioning.delete_tenant(slug)
    except (InvalidName, provisioning.ProvisioningError) as error:
        _fail(error)
    click.echo(f"deleted city {tenant.slug} (schema {tenant.schema}, role {tenant.db_role})")


def _add_revision_command(group: AppGroup, tree: str, help_text: str) -> None:
    @group.command("revision", help=help_text)
    @click.option("-m", "--message", required=True, help="What the migration does.")
    @click.option("--empty", is_flag=True,
                  help="Write an empty migration, without comparing models.")
    def revision(message, empty):
        for path in new_revision(tree, message, autogenerate=not empty):
            click.echo(f"wrote {path}")


_add_revision_command(platform_cli, PLATFORM_TREE, "Write a new platform migration from the "
                      "difference between the models and the platform schema.")
_add_revision_command(tenants_cli, TENANT_TREE, "Write a new city migration from the "
                      "difference between the models and a scratch city schema at head.")


def init_app(app) -> None:
    app.cli.add_command(platform_cli)
    app.cli.add_command(tenants_cli)
