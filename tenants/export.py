"""Exporting a city to one archive, and importing it again (also under another slug).

The archive is a gzipped tar file:

    manifest.json   format and its version, the city's slug, schema and schema version (its
                    alembic revision), when and by which app version and pg_dump it was made,
                    and the SHA-256 and size of every other member
    platform.json   the city's platform rows: its tenant row, its domains, its platform audit
                    entries (kept for the record; an import does not add them again)
    schema.sql      `pg_dump --schema=city_<slug>` in plain format, data and DDL, without owners
                    or privileges (an import grants them to the new city's role)
    files/...       the city's uploaded files (instance/uploads/<slug>/...)

An import verifies every checksum before it touches the database, then creates the city in ONE
transaction on one connection: the platform rows, the role and schema (made as provisioning
makes them: tenants.provisioning.new_city_sql and city_privileges_sql), the dump replayed
statement by statement (COPY blocks streamed), the schema renamed on the way when the slug is
a new one, and, for an archive of an older schema version, the migrations up to head. Any
failure rolls all of it back, role included; the uploaded files, written before the commit,
are removed again. Nothing is left behind. Once it has committed, `tenant_created` is sent as
for a provisioned city (tenants/signals.py).
"""
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from alembic.util import CommandError
from flask import current_app

from tenants.db import db, execute_statements
from tenants.migrations import (
    TENANT_TREE,
    migrate_tenants,
    render_upgrade,
    script_directory,
    split_statements,
    tenant_head,
)
from tenants.models import ACTIVE, SUSPENDED, PlatformAuditEntry, Tenant, TenantDomain
from tenants.naming import InvalidName, role_name, schema_name, validate_slug
from tenants.provisioning import (
    _INSERT_TENANT_SQL,
    ProvisioningError,
    _audit,
    _changed,
    _preflight,
    _tenant_info,
    _validated,
    announce_created,
    append_only_sql,
    city_privileges_sql,
    new_city_sql,
)
from tenants.uploads import city_folder

log = logging.getLogger(__name__)

FORMAT = "civiccloud-city-export"
FORMAT_VERSION = 1
MANIFEST, PLATFORM_ROWS, SCHEMA_DUMP = "manifest.json", "platform.json", "schema.sql"
FILES = "files/"  # the prefix of the uploaded files' members
ARCHIVE_SUFFIX = ".tar.gz"

# Tenant columns an archive carries from one installation to another; the others are the
# city's identity here (id, slug, schema, role), its history here, or set by the import.
_NOT_CARRIED = frozenset({"id", "slug", "schema_name", "db_role", "status", "created_at",
                          "updated_at", "retired_at", "purge_after"})
_INSERTED = frozenset({"name", "name_zh", "locale", "timezone", "plan"})  # _INSERT_TENANT_SQL


class ExportError(Exception):
    """A city could not be exported or imported; the message says why. Nothing was left."""


# -- finding pg_dump --------------------------------------------------------------------------

def _bin_dirs() -> list[Path]:
    """Where PostgreSQL client programs may be: the embedded server's (pgserver), PATH, and
    Debian's side-by-side versions."""
    dirs = []
    try:
        import pgserver  # development and tests only

        dirs.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    dirs += [Path(entry) for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return dirs


def _major_version(program: Path) -> int | None:
    try:
        output = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                                timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\s(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None


def find_pg_dump(server_major: int) -> tuple[Path, int]:
    """The pg_dump to use with a server of `server_major`: of the same major version, else the
    closest newer one (pg_dump refuses a newer server, and an older dump restores best)."""
    found = {}
    for folder in _bin_dirs():
        program = folder / "pg_dump"
        if program.is_file() and os.access(program, os.X_OK):
            major = _major_version(program)
            if major is not None:
                found.setdefault(major, program)
    usable = sorted(major for major in found if major >= server_major)
    if not usable:
        seen = ", ".join(f"{found[m]} ({m})" for m in sorted(found)) or "none"
        raise ExportError(f"no pg_dump of version {server_major} or newer found for this "
                          f"PostgreSQL {server_major} server (found: {seen}); install the "
                          f"PostgreSQL {server_major} client programs or put them on PATH")
    return found[usable[0]], usable[0]


# -- reading a dump ---------------------------------------------------------------------------

_COPY_HEADER = re.compile(r'^COPY "[^"]+"\."[^"]+" \(.*\) FROM stdin;$')
# psql meta-commands pg_dump writes (15.14+, 16.10+): they guard psql, not our replay.
_IGNORED_META = ("\\restrict ", "\\unrestrict ")


def dump_parts(lines: Iterator[str], rename: tuple[str, str] | None = None):
    """The plain-format dump as ("sql", text) and ("copy", header, rows) parts, in order;
    `rows` yields the COPY block's data lines and must be used up before the next part.
    `rename` = (old schema, new schema) renames the schema in the SQL (quoted identifiers,
    the dump is made with --quote-all-identifiers), never in the data, and drops the dump's
    CREATE SCHEMA (the import makes the schema)."""
    old, new = (f'"{name}"' for name in rename) if rename else (None, None)
    statements: list[str] = []

    def rows():
        for row in lines:
            if row == "\\.\n":
                return
            yield row
        raise ExportError("the dump ends inside a COPY block: the archive is damaged")

    for line in lines:
        if line.startswith("\\"):
            if not line.startswith(_IGNORED_META):
                raise ExportError(f"unexpected psql command in the dump: {line.strip()[:80]}")
            continue
        if old and line == f"CREATE SCHEMA {old};\n":
            continue
        header = _COPY_HEADER.match(line.rstrip("\n"))
        if header:
            if statements:
                yield "sql", "".join(statements)
                statements = []
            yield "copy", line.replace(old, new, 1) if old else line, rows()
        else:
            statements.append(line.replace(old, new) if old else line)
    if statements:
        yield "sql", "".join(statements)


def dumped_version(dump: Path, schema: str) -> str | None:
    """The alembic revision recorded in the dump of `schema` (its alembic_version row)."""
    wanted = f'COPY "{schema}"."alembic_version" '
    with dump.open(encoding="utf-8") as lines:
        for part in dump_parts(lines):
            if part[0] == "copy":
                rows = [row.rstrip("\n") for row in part[2]]
                if part[1].startswith(wanted):
                    return rows[0] if len(rows) == 1 else None
    return None


# -- exporting --------------------------------------------------------------------------------

def app_version() -> str:
    try:
        return metadata.version("civiccloud")
    except metadata.PackageNotFoundError:  # a checkout, not an installed package
        config = ConfigParser()
        config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
        return config.get("metadata", "version", fallback="unknown")


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _platform_rows(connection, slug: str) -> dict:
    def rows(statement):
        return [{key: _jsonable(value) for key, value in row._mapping.items()}
                for row in connection.execute(statement)]

    (tenant,) = rows(sa.select(Tenant.__table__).where(Tenant.slug == slug))
    return {
        "tenant": tenant,
        "domains": rows(sa.select(TenantDomain.__table__)
                        .where(TenantDomain.tenant_id == tenant["id"])
                        .order_by(TenantDomain.id)),
        "audit_log": rows(sa.select(PlatformAuditEntry.__table__)
                          .where(PlatformAuditEntry.tenant_slug == slug)
                          .order_by(PlatformAuditEntry.id)),
    }


def _libpq_target() -> tuple[str, dict]:
    """pg_dump's --dbname (without the password) and environment (PGPASSWORD)."""
    url = db.engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _digest(path: Path) -> dict:
    sha256 = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha256.update(block)
    return {"sha256": sha256.hexdigest(), "size": path.stat().st_size}


def _dump_schema(schema: str, target: Path) -> dict:
    with db.engine.connect() as connection:
        server = connection.exec_driver_sql("SHOW server_version_num").scalar()
    server_major = int(server) // 10000
    program, major = find_pg_dump(server_major)
    uri, env = _libpq_target()
    finished = subprocess.run(
        [str(program), "--format=plain", f"--schema={schema}", "--no-owner", "--no-privileges",
         "--quote-all-identifiers", "--encoding=UTF8", f"--file={target}", f"--dbname={uri}"],
        capture_output=True, text=True, env=env)
    if finished.returncode != 0:
        raise ExportError(f"pg_dump failed: {finished.stderr.strip()[:500]}")
    return {"server_version": int(server), "pg_dump": f"{program} ({major})"}


@dataclass(frozen=True)
class Exported:
    path: Path
    manifest: dict
    sha256: str  # of the archive


def exports_dir() -> Path:
    """Where archives go unless told otherwise (the console's downloads): instance/exports,
    or EXPORT_DIR."""
    return Path(current_app.config.get("EXPORT_DIR")
                or Path(current_app.instance_path) / "exports")


def default_export_path(slug: str) -> Path:
    """instance/exports/<slug>-<UTC time>.tar.gz"""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return exports_dir() / f"{slug}-{stamp}{ARCHIVE_SUFFIX}"


def export_city(slug: str, output: Path | None = None, by: str | None = None) -> Exported:
    """Write the city `slug` (active, suspended or retired) to one archive at `output`
    (default: instance/exports/<slug>-<time>.tar.gz); written whole or not at all."""
    validate_slug(slug)
    output = Path(output) if output else default_export_path(slug)
    with db.engine.connect() as connection:
        tenant = _tenant_info(connection, slug)
        rows = _platform_rows(connection, slug)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="city-export-") as scratch:
        dump = Path(scratch) / SCHEMA_DUMP
        tools = _dump_schema(tenant.schema, dump)
        version = dumped_version(dump, tenant.schema)
        if version is None:
            raise ExportError(f"the schema {tenant.schema} has no alembic_version row: not a "
                              "city schema this code can export")
        platform_json = Path(scratch) / PLATFORM_ROWS
        platform_json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
        members = {PLATFORM_ROWS: platform_json, SCHEMA_DUMP: dump}
        files = city_folder(slug)
        if files.is_dir():
            for path in sorted(p for p in files.rglob("*") if p.is_file()):
                members[FILES + path.relative_to(files).as_posix()] = path
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "slug": slug,
            "schema": tenant.schema, "schema_version": version,
            "created_at": datetime.now(UTC).isoformat(), "app_version": app_version(),
            **tools,
            "members": {name: _digest(path) for name, path in members.items()},
        }
        partial = output.with_name(output.name + ".part")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
                archive.addfile(info, io.BytesIO(data))
                for name, path in members.items():
                    archive.add(path, arcname=name, recursive=False)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    sha256 = _digest(output)["sha256"]
    with db.engine.begin() as connection:
        _audit(connection, "tenant.export", slug, by=by, file=output.name,
               schema_version=version, sha256=sha256)
    return Exported(output, manifest, sha256)


# -- importing --------------------------------------------------------------------------------

def _unpack(archive_path: Path, into: Path) -> dict:
    """Every member of the archive checked against its manifest and written under `into`;
    returns the manifest."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            entries = archive.getmembers()
            names = [entry.name for entry in entries]
            if not names or names[0] != MANIFEST:
                raise ExportError(f"{archive_path} is not a city archive (no {MANIFEST} first)")
            manifest = json.loads(archive.extractfile(entries[0]).read())
            if manifest.get("format") != FORMAT:
                raise ExportError(f"{archive_path} is not a city archive")
            if manifest.get("format_version") != FORMAT_VERSION:
                raise ExportError(f"the archive's format version {manifest.get('format_version')}"
                                  f" is not {FORMAT_VERSION}, the one this code reads")
            expected = manifest.get("members") or {}
            if sorted(names[1:]) != sorted(expected) or len(set(names)) != len(names):
                raise ExportError("the archive's members don't match its manifest: the archive "
                                  "is damaged or was altered")
            for entry in entries[1:]:
                parts = Path(entry.name).parts
                if not entry.isfile() or entry.name.startswith("/") or ".." in parts:
                    raise ExportError(f"the archive member {entry.name!r} is refused")
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(entry) as source, target.open("wb") as copy:
                    shutil.copyfileobj(source, copy)
                if _digest(target) != expected[entry.name]:
                    raise ExportError(f"the checksum of {entry.name} does not match the "
                                      "manifest: the archive is damaged or was altered")
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise ExportError(f"{archive_path} can't be read as a city archive: {error}") from None
    return manifest


def _check_version(manifest: dict, dump: Path, script_location: Path | None) -> str:
    version = manifest.get("schema_version")
    try:
        script_directory(TENANT_TREE, script_location).get_revision(version)
    except CommandError:
        raise ExportError(f"the archive's schema version {version} is unknown to this code: "
                          "import it with the code it was exported from (or newer)") from None
    if dumped_version(dump, manifest["schema"]) != version:
        raise ExportError("the dump's schema version differs from the manifest's: the archive "
                          "was altered")
    return version


def _carried_columns(tenant_row: dict) -> dict:
    known = {column.name for column in Tenant.__table__.columns}
    unknown = sorted(set(tenant_row) - known)
    if unknown:
        raise ExportError(f"the archive's tenant row has columns this code does not know "
                          f"({', '.join(unknown)}): import it with newer code")
    return {key: value for key, value in tenant_row.items() if key not in _NOT_CARRIED}


def _replay(driver, dump: Path, rename: tuple[str, str]) -> None:
    with dump.open(encoding="utf-8") as lines, driver.cursor() as cursor:
        for part in dump_parts(lines, rename):
            if part[0] == "sql":
                # statement by statement, without parameters: '%' stays literal
                execute_statements(driver, split_statements(part[1]))
            else:
                with cursor.copy(part[1]) as copy:
                    for row in part[2]:
                        copy.write(row)


@dataclass(frozen=True)
class Imported:
    tenant: object  # TenantInfo
    archive_version: str
    version: str  # the schema version now
    migration_error: str | None = None


def _refused(error: Exception, slug: str):
    """Raise the import's failure as vendor staff should read it."""
    if isinstance(error, ExportError | ProvisioningError | InvalidName):
        raise error
    if isinstance(error, sa.exc.IntegrityError):
        raise ExportError(f"the slug {slug!r} or one of the domains was taken meanwhile, or the "
                          f"archive's platform rows don't fit here: {error.orig}") from None
    reason = str(getattr(error, "orig", None) or error).strip()
    raise ExportError(f"the database refused to import {slug!r}: {reason}") from None


def import_city(archive_path: Path, slug: str | None = None, domains: list[str] | None = None,
                by: str | None = None, script_location: Path | None = None) -> Imported:
    """Create a city from an archive, under its own slug or `slug`, at its own domains or
    `domains`. Refuses an existing slug or domain, an archive that fails its checksums, and a
    schema version this code does not know; an older one is migrated to head in the same
    transaction (migrations that can't be rendered run online right after the commit)."""
    archive_path = Path(archive_path)
    with tempfile.TemporaryDirectory(prefix="city-import-") as scratch:
        manifest = _unpack(archive_path, Path(scratch))
        dump = Path(scratch) / SCHEMA_DUMP
        version = _check_version(manifest, dump, script_location)
        rows = json.loads((Path(scratch) / PLATFORM_ROWS).read_text())
        source, carried = rows["tenant"], _carried_columns(rows["tenant"])
        slug = validate_slug(slug or manifest["slug"])
        name, name_zh, hosts = _validated(
            slug, source["name"], source["name_zh"],
            list(domains) if domains else [d["host"] for d in rows["domains"]],
            source["locale"], source["timezone"])
        head = tenant_head(script_location)
        upgrade = render_upgrade(version, script_location) if version != head else ()
        files, files_made = city_folder(slug), False
        engine = db.engine
        connection = engine.connect()
        try:
            with connection.begin():
                checks = _preflight(connection, slug, hosts, carried.get("plan"))
                schema, role = schema_name(slug), role_name(checks.database_oid, slug)
                tenant_id = connection.execute(_INSERT_TENANT_SQL, {
                    "slug": slug, "name": name, "name_zh": name_zh,
                    "status": SUSPENDED if source["status"] == SUSPENDED else ACTIVE,
                    "schema": schema, "role": role, "locale": source["locale"],
                    "timezone": source["timezone"], "hosts": hosts,
                    "plan": carried.get("plan")}).scalar_one()
                extra = {k: v for k, v in carried.items() if k not in _INSERTED}
                if extra:
                    connection.execute(sa.update(Tenant).where(Tenant.id == tenant_id)
                                       .values(**extra))
                # On Citus the schema is distributed once it is whole: pg_dump's ALTER
                # statements (constraints, identities, sequence values) run on plain tables.
                execute_statements(connection, [
                    *new_city_sql(schema, role, checks.database_oid, checks.citus,
                                  distributed=False),
                    *city_privileges_sql(schema, role)])
                _replay(connection.connection.driver_connection, dump,
                        (manifest["schema"], schema))
                execute_statements(connection, [
                    f'SET LOCAL search_path TO "{schema}"',
                    f'REVOKE ALL ON alembic_version FROM "{role}"',  # as provisioning leaves it
                    *append_only_sql(role), *(upgrade or ())])
                if checks.citus:
                    connection.execute(sa.text("SELECT citus_schema_distribute(:schema)"),
                                       {"schema": schema})
                _audit(connection, "tenant.import", slug, by=by, archive=archive_path.name,
                       source_slug=manifest["slug"], source_created_at=manifest["created_at"],
                       schema_version=version, migrated_to=head if upgrade else None,
                       domains=hosts, schema=schema, db_role=role)
                if (Path(scratch) / FILES).is_dir():
                    if files.exists():
                        raise ExportError(f"the uploads folder {files} already exists: move it "
                                          "away first")
                    files_made = True  # written before the commit, removed if it fails
                    shutil.copytree(Path(scratch) / FILES, files)
        except Exception as error:
            if files_made:
                shutil.rmtree(files, ignore_errors=True)
            _refused(error, slug)
        finally:
            # The dump sets session settings (search_path and others): this connection goes,
            # it never returns to the pool.
            connection.invalidate()
            connection.close()
    _changed()
    with engine.connect() as connection:
        tenant = _tenant_info(connection, slug)
    imported = Imported(tenant, version, head)
    if upgrade is None:  # migrations that read the database: online, after the commit
        (result,) = migrate_tenants([tenant], lock_timeout=current_app.config[
            "TENANT_MIGRATION_LOCK_TIMEOUT"], script_location=script_location)
        imported = Imported(tenant, version, result.after, result.error)
    announce_created(tenant)  # as a provisioned city: its receivers (payment keys) run too
    return imported


__all__ = ["ExportError", "Exported", "Imported", "export_city", "find_pg_dump", "import_city"]
