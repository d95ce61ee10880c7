"""`flask platform …` and `flask tenants …`: what vendor staff run to manage the fleet."""
import json
import os
import socket
import sys
from collections import Counter
from datetime import UTC, datetime

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from tenants import provisioning
from tenants.context import CityRetired, directory
from tenants.db import db
from tenants.export import ExportError, export_city, import_city
from tenants.jobs import (
    DATABASE_LOST,
    QUEUED_AGAIN,
    SUPERSEDED,
    opened_jobs_app,
    run_worker,
    worker_app,
)
from tenants.migrations import (
    PLATFORM_TREE,
    TENANT_TREE,
    city_versions,
    migrate_platform,
    migrate_tenants,
    new_revision,
    tenant_head,
)
from tenants.models import LOCALES, RETIRED
from tenants.naming import InvalidName
from tenants.provisioning import when


class TenantsGroup(AppGroup):
    """`flask tenants …`: a command that works inside a retired city (tenant_context refuses
    it) prints why and exits 1, instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CityRetired as error:
            raise click.ClickException(str(error)) from None


platform_cli = AppGroup("platform", help="The platform schema (what belongs to the vendor).")
tenants_cli = TenantsGroup("tenants", help="Provision, list, migrate, suspend, retire, restore, "
                           "purge, export, import and delete cities.")


def _fail(error: Exception):
    raise click.ClickException(str(error))


def _as_dict(tenant, version) -> dict:
    return {
        "slug": tenant.slug, "name": tenant.name, "name_zh": tenant.name_zh,
        "status": tenant.status, "domains": list(tenant.domains), "schema": tenant.schema,
        "db_role": tenant.db_role, "locale": tenant.locale, "timezone": tenant.timezone,
        "version": version,
        "retired_at": tenant.retired_at.isoformat() if tenant.retired_at else None,
        "purge_after": tenant.purge_after.isoformat() if tenant.purge_after else None,
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
    from tenants.citus import CitusError

    try:
        before, after = migrate_platform()
    except CitusError as error:
        _fail(error)
    if before == after:
        click.echo(f"platform schema is up to date at {after}")
    else:
        click.echo(f"platform schema migrated from {before or 'nothing'} to {after}")


@platform_cli.command("bootstrap-citus")
@click.option("--app-role", metavar="ROLE",
              help="The application's own database role (the user of its DATABASE_URL): "
                   "given what it needs on every node, then checked. Without it, only the "
                   "database is prepared.")
@click.option("--worker", "workers", multiple=True, metavar="HOST:PORT",
              help="A worker, as the coordinator reaches it; repeat for each. Default: the "
                   "workers registered in the coordinator's database postgres.")
@click.option("--coordinator", metavar="HOST:PORT",
              help="The coordinator, as the workers reach it. Default: as registered in its "
                   "database postgres.")
def bootstrap_citus(app_role, workers, coordinator):
    """Once per database, as a superuser: make the database of DATABASE_URL on a Citus
    coordinator ready for the application (docs/scaling.md). Run it with DATABASE_URL set to a
    superuser's connection to that database; the application itself then runs as --app-role.
    Idempotent: run again, it says what was still missing."""
    from tenants.citus import CitusError, bootstrap, parse_node

    admin_uri = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        done = bootstrap(admin_uri, app_role,
                         workers=[parse_node(w) for w in workers] if workers else None,
                         coordinator=parse_node(coordinator) if coordinator else None)
    except CitusError as error:
        _fail(error)
    for line in done:
        click.echo(line)
    click.echo(f"the database {db.engine.url.database} is ready for Citus")


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
@click.option("--plan", metavar="KEY", help="The key of the city's plan (default: none, so "
              "not limited); plans are made in the platform console.")
def create(slug, name, name_zh, domains, locale, timezone, plan):
    """Provision the city SLUG: its schema, database role and domains, in one transaction."""
    try:
        tenant = provisioning.create_tenant(slug, name, list(domains), name_zh=name_zh,
                                            locale=locale, timezone=timezone, plan=plan)
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
    """List every city with its status, domains and schema version (and, for a retired city,
    from when `flask tenants purge` drops it)."""
    tenants = _fresh_directory().all()
    rows = _with_versions(tenants)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no cities yet: flask tenants create SLUG --name NAME --domain HOST")
        return
    head = tenant_head()
    for tenant, row in zip(tenants, rows, strict=True):
        behind = "" if row["version"] == head else "  (behind head)"
        retired = (f"  (retired, purged after {when(tenant.purge_after)})"
                   if tenant.status == RETIRED else "")
        click.echo(f"{row['slug']:<20} {row['status']:<10} {row['version'] or '-':<14}"
                   f"{', '.join(row['domains'])}{behind}{retired}")


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
    row.update(retired_at=when(tenant.retired_at) if tenant.retired_at else None,
               purge_after=when(tenant.purge_after) if tenant.purge_after else None)
    for key, value in row.items():
        if value is None and key in ("retired_at", "purge_after"):
            continue
        click.echo(f"{key:<11} {', '.join(value) if isinstance(value, list) else value}")


@tenants_cli.command("migrate")
@click.argument("slugs", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Migrate every city.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Cities migrated at the same time (worker processes).")
def migrate(slugs, all_, jobs):
    """Upgrade city schemas to the tenant migration head. Cities already there are skipped;
    a failing city is reported and the others go on; running again resumes. Retired cities are
    migrated too (they may be restored)."""

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


@tenants_cli.command("retire")
@click.argument("slug")
@click.option("--retention-days", type=int, default=None,
              help="Days its data is kept before `flask tenants purge` may drop it "
                   "[default: TENANT_RETENTION_DAYS, 90].")
@click.option("--yes", is_flag=True, help="Confirm: the city's sites disappear at once.")
def retire(slug, retention_days, yes):
    """Retire a city (active or suspended): its sites answer 404 at once and its queued jobs are
    cancelled; its schema, role and data are kept for the retention period, then
    `flask tenants purge` drops them. `flask tenants restore` brings it back until then."""

    if not yes:
        raise click.UsageError(
            f"this takes the city {slug!r} off the web at once, and its data is dropped after "
            "the retention period; add --yes to confirm"
        )
    if retention_days is None:
        retention_days = current_app.config["TENANT_RETENTION_DAYS"]
    try:
        tenant = provisioning.retire_tenant(slug, retention_days)
    except provisioning.ProvisioningError as error:
        _fail(error)
    click.echo(f"retired city {tenant.slug}: its sites answer 404 from now on")
    click.echo(f"  data kept until {when(tenant.purge_after)} "
               f"({retention_days} days); restore it before then with: "
               f"flask tenants restore {tenant.slug}")


@tenants_cli.command("restore")
@click.argument("slug")
def restore(slug):
    """Restore a retired city, with all its data, before it is purged: it is active again."""
    try:
        tenant = provisioning.restore_tenant(slug)
    except provisioning.ProvisioningError as error:
        _fail(error)
    click.echo(f"restored city {tenant.slug}: it is active, its sites answer again")


@tenants_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Print the cities that would be purged; drop "
                                              "nothing.")
def purge(dry_run):
    """Drop every retired city whose retention period has passed: its schema with all its data,
    its role and its domains, one city per transaction. A failing city is reported (exit
    status 1) and the others go on; it stays retired, and the next purge tries again."""
    if dry_run:
        due = provisioning.due_for_purge()
        for tenant in due:
            click.echo(f"would purge city {tenant.slug} (schema {tenant.schema}, retired "
                       f"{when(tenant.retired_at)}, purge after {when(tenant.purge_after)})")
        click.echo(f"{len(due)} retired city(ies) due for purge (dry run: nothing dropped)")
        return
    report = provisioning.purge_retired()
    for tenant in report:
        click.echo(f"purged city {tenant.slug} (schema {tenant.schema}, role {tenant.db_role}, "
                   f"retired {when(tenant.retired_at)})")
    for tenant, reason in report.failed:
        click.echo(f"FAILED to purge city {tenant.slug}: {reason}")
    click.echo(f"{len(report)} purged, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@tenants_cli.command("export")
@click.argument("slug")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Where to write the archive [default: instance/exports/SLUG-TIME.tar.gz].")
def export(slug, output):
    """Export the city SLUG (active, suspended or retired) to one .tar.gz archive: its tables'
    rows (no SQL), its platform rows, its uploaded files and a manifest with checksums, signed
    with EXPORT_SIGNING_KEY. `flask tenants import` restores it, here or on another
    installation with the same key."""

    try:
        exported = export_city(slug, output)
    except (InvalidName, provisioning.ProvisioningError, ExportError) as error:
        _fail(error)
    manifest = exported.manifest
    click.echo(f"exported city {slug} to {exported.path}")
    click.echo(f"  schema version  {manifest['schema_version']}")
    click.echo(f"  files           {sum(1 for m in manifest['members'] if m.startswith('files/'))}")
    click.echo(f"  size            {exported.path.stat().st_size} bytes")


@tenants_cli.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", help="Import the city under this slug [default: the archive's].")
@click.option("--domain", "domains", multiple=True,
              help="A host name of the imported city, instead of the archive's; repeat for "
                   "several (needed when the archive's domains are taken here).")
def import_(archive, slug, domains):
    """Create a city from an archive of `flask tenants export`, in one transaction: caps,
    signature (EXPORT_SIGNING_KEY) and checksums verified first; refused if the slug or a
    domain exists, the archive is unsigned, altered or of an older format, or its schema
    version is unknown to this code; an older schema version is migrated to head. The rows
    are loaded as the new city's role. On failure nothing is left."""

    try:
        imported = import_city(archive, slug=slug, domains=list(domains) or None)
    except (InvalidName, provisioning.ProvisioningError, ExportError) as error:
        _fail(error)
    tenant = imported.tenant
    click.echo(f"imported city {tenant.slug} ({tenant.name} / {tenant.name_zh}), {tenant.status}")
    click.echo(f"  schema   {tenant.schema}")
    click.echo(f"  db role  {tenant.db_role}")
    click.echo(f"  domains  {', '.join(tenant.domains)}")
    if imported.migration_error:
        click.echo(f"  version  {imported.archive_version}: the migration to head FAILED: "
                   f"{imported.migration_error}; run: flask tenants migrate {tenant.slug}")
        sys.exit(1)
    migrated = (f" (migrated from {imported.archive_version})"
                if imported.version != imported.archive_version else "")
    click.echo(f"  version  {imported.version}{migrated}")


def _size(size: int) -> str:
    """Bytes as PostgreSQL's pg_size_pretty writes them (1024-based)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 10 * 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.0f} TB"


@tenants_cli.command("placement")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def placement(as_json):
    """Which node holds each city, and the size of its tables and indexes there. On plain
    PostgreSQL every city is on the one server ("local"); on Citus the node is the worker (or
    the coordinator) that holds the city's distributed schema."""
    from tenants.placement import placements

    found = placements()
    if as_json:
        click.echo(json.dumps([{"slug": slug, **p.as_dict()} for slug, p in found.items()],
                              indent=2))
        return
    if not found:
        click.echo("no cities yet")
        return
    for slug, where in found.items():
        note = "" if where.distributed or where.node == "local" else "  (not distributed)"
        click.echo(f"{slug:<20} {where.node or '-':<24} {_size(where.size_bytes):>8}{note}")
    per_node = Counter()
    for where in found.values():
        per_node[where.node or "-"] += where.size_bytes
    cities = Counter(where.node or "-" for where in found.values())
    for node in sorted(per_node):
        click.echo(f"node {node}: {cities[node]} cities, {_size(per_node[node])}")


@tenants_cli.command("move")
@click.argument("slug")
@click.option("--to", "to", required=True, metavar="HOST:PORT",
              help="The node to move the city to, as registered in the Citus cluster (see "
                   "flask tenants placement).")
def move(slug, to):
    """Move the city SLUG, with all its data and while it stays in use, to another node of the
    Citus cluster (citus_schema_move); recorded in the platform audit log."""
    from tenants.citus import CitusError
    from tenants.placement import PlacementError, move_city

    try:
        moved = move_city(slug, to)
    except (InvalidName, CitusError, PlacementError, provisioning.ProvisioningError) as error:
        _fail(error)
    click.echo(f"moved city {moved.slug} from {moved.source} to {moved.target} "
               f"in {moved.seconds:.1f} s")


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


jobs_cli = AppGroup("jobs", help="The job queue: what waits, runs and failed.")


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at the same time (threads).")
@click.option("--queue", "queues", multiple=True, help="Work only these queues (repeatable).")
@click.option("--once", is_flag=True, help="Work until the queue is empty, then stop (exit "
              "non-zero if the database cannot be reached).")
@with_appcontext
def worker(concurrency, queues, once):
    """Run a job worker. Several workers, on several machines, share the queue. Without
    --once it runs until SIGINT or SIGTERM; when the database goes away it waits and connects
    again (back-off up to JOBS_RECONNECT_MAX_SECONDS) instead of exiting."""

    def report(recovered):
        if recovered[QUEUED_AGAIN]:
            click.echo(f"queued again {recovered[QUEUED_AGAIN]} job(s) of workers that stopped")
        if recovered[SUPERSEDED]:
            click.echo(f"cancelled {recovered[SUPERSEDED]} job(s) of workers that stopped: a "
                       "waiting job with the same queueing lock does their work")

    try:
        run_worker(worker_app(current_app), on_recovered=report,
                   stalled_after=current_app.config["JOBS_STALLED_AFTER_SECONDS"],
                   reconnect_max_seconds=current_app.config["JOBS_RECONNECT_MAX_SECONDS"],
                   queues=list(queues) or None, concurrency=concurrency, wait=not once,
                   name=f"{socket.gethostname()}:{os.getpid()}", delete_jobs="successful")
    except DATABASE_LOST as error:
        _fail(RuntimeError(f"the job queue's database is unreachable: {error}"))


_JOB_COUNTS_SQL = sa.text(
    "SELECT task_name, status, count(*) AS jobs FROM jobs.procrastinate_jobs "
    "GROUP BY task_name, status ORDER BY task_name, status"
)


@jobs_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_status(as_json):
    """Queued, running and failed jobs per task (finished jobs are removed)."""
    with db.engine.connect() as connection:
        rows = connection.execute(_JOB_COUNTS_SQL).all()
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        table.setdefault(row.task_name, {})[row.status] = row.jobs
    if as_json:
        click.echo(json.dumps(table, indent=2))
        return
    if not table:
        click.echo("no jobs queued, running or failed")
        return
    click.echo(f"{'task':<32} {'todo':>6} {'doing':>6} {'failed':>7} {'cancelled':>9}")
    for task, counts in table.items():
        click.echo(f"{task:<32} {counts.get('todo', 0):>6} {counts.get('doing', 0):>6} "
                   f"{counts.get('failed', 0):>7} {counts.get('cancelled', 0):>9}")


@jobs_cli.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Retry every failed job.")
def jobs_retry(job_ids, all_failed):
    """Queue failed jobs again (by id, or all of them)."""
    if all_failed == bool(job_ids):
        raise click.UsageError("give job ids, or --all-failed (not both)")
    with db.engine.connect() as connection:
        failed = set(connection.execute(sa.text(
            "SELECT id FROM jobs.procrastinate_jobs WHERE status = 'failed'")).scalars())
    targets = sorted(failed) if all_failed else list(job_ids)
    not_failed = [job_id for job_id in targets if job_id not in failed]
    if not_failed:
        _fail(LookupError(f"not failed jobs: {', '.join(map(str, not_failed))}"))
    manager = opened_jobs_app().job_manager
    for job_id in targets:
        manager.retry_job_by_id(job_id, retry_at=datetime.now(UTC))
    click.echo(f"queued again {len(targets)} job(s)")


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
    app.cli.add_command(jobs_cli)
    app.cli.add_command(worker)
