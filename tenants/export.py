"""Exporting a city to one signed archive, and importing it again (also under another slug).

The archive is a gzipped tar file (format version 2) of data only, never SQL:

    manifest.json   format and its version, the city's slug, schema and schema version (its
                    alembic revision), when and by which app version it was made, its tables
                    (each one's columns, in the order of its data member, and the positions of
                    its columns' sequences), and the SHA-256 and size of every later member
    manifest.sig    HMAC-SHA256 of manifest.json with EXPORT_SIGNING_KEY (and the key's id): as
                    the manifest holds every other member's digest, it signs the whole archive
    platform.json   the city's platform rows: its tenant row, its domains, its platform audit
                    entries (kept for the record; an import does not add them again)
    data/<table>    the table's rows in PostgreSQL's COPY text format (alembic_version left out:
                    the manifest names the version)
    files/...       the city's uploaded files (instance/uploads/<slug>/...)

An import reads the archive as a stream, with caps on its compressed size, on the bytes it
inflates (counted as it inflates, so a compression bomb stops early) and on its member count;
it checks the signature before it reads past it, and every member's size and digest as it
writes the member to a scratch folder. Then it creates the city in ONE transaction on one
connection: the platform rows, the role and schema as provisioning makes them (the tables at
the archive's schema version from our models or, for an older version, from our migrations,
never from the archive), then under the city's own role (SET LOCAL ROLE) and search_path one
`COPY <table> (<columns>) FROM STDIN` per table, whose names must be exactly the new schema's
tables and columns, then the sequences' positions, and, for an archive of an older schema
version, the migrations up to head. Any failure rolls all of it back, role included; the
uploaded files, written before the commit, are removed again. Nothing is left behind. Once it
has committed, `tenant_created` is sent as for a provisioned city (tenants/signals.py).
"""
import graphlib
import gzip
import hashlib
import hmac
import io
import json
import logging
import shutil
import tarfile
import tempfile
import zlib
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from alembic.util import CommandError
from flask import current_app
from psycopg import sql

from tenants.db import db, execute_statements
from tenants.migrations import (
    TENANT_TREE,
    migrate_tenants,
    render_upgrade,
    script_directory,
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
    city_schema_sql,
    new_city_sql,
)
from tenants.uploads import city_folder

log = logging.getLogger(__name__)

FORMAT = "civiccloud-city-export"
FORMAT_VERSION = 2  # 1: a pg_dump script, unsigned (refused: it ran its SQL as the owner)
MANIFEST, SIGNATURE, PLATFORM_ROWS = "manifest.json", "manifest.sig", "platform.json"
DATA, FILES = "data/", "files/"  # the prefixes of the tables' and the uploaded files' members
ARCHIVE_SUFFIX = ".tar.gz"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
# Tables whose rows are not exported: the import records the version itself.
NOT_EXPORTED = frozenset({"alembic_version"})
# Bounds of the two members read into memory, whatever the caps allow.
_MANIFEST_MAX_BYTES, _SIGNATURE_MAX_BYTES = 64 * 1024 * 1024, 4096
_BLOCK = 1 << 20

# Tenant columns an archive carries from one installation to another; the others are the
# city's identity here (id, slug, schema, role), its history here, or set by the import.
_NOT_CARRIED = frozenset({"id", "slug", "schema_name", "db_role", "status", "created_at",
                          "updated_at", "retired_at", "purge_after"})
_INSERTED = frozenset({"name", "name_zh", "locale", "timezone", "plan"})  # _INSERT_TENANT_SQL


class ExportError(Exception):
    """A city could not be exported or imported; the message says why. Nothing was left."""


# -- signing ----------------------------------------------------------------------------------

def _signing_key() -> bytes:
    key = current_app.config.get("EXPORT_SIGNING_KEY")
    if not key:
        raise ExportError("EXPORT_SIGNING_KEY is not set: archives can be neither signed nor "
                          "checked")
    return key.encode()


def _accepted_keys() -> list[bytes]:
    """The keys an import accepts: EXPORT_SIGNING_KEY, then EXPORT_PREVIOUS_SIGNING_KEYS."""
    return [_signing_key(), *(key.encode() for key in
                              current_app.config.get("EXPORT_PREVIOUS_SIGNING_KEYS", ()))]


def key_id(key: bytes) -> str:
    """Names a signing key without revealing it, so a refusal can say "another key"."""
    return hmac.new(key, b"civiccloud export key id", hashlib.sha256).hexdigest()[:16]


def _signature(manifest: bytes, key: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def _check_signature(manifest: bytes, signed: bytes, keys: list[bytes]) -> None:
    try:
        claim = json.loads(signed)
        algorithm, signature = claim["algorithm"], claim["signature"]
    except (ValueError, TypeError, KeyError):
        raise ExportError(f"the archive's {SIGNATURE} can't be read: the archive is damaged "
                          "or was altered") from None
    if algorithm != SIGNATURE_ALGORITHM:
        raise ExportError(f"the archive is signed with {str(algorithm)[:40]!r}, not "
                          f"{SIGNATURE_ALGORITHM}: refused")
    if isinstance(signature, str) and any(
            hmac.compare_digest(signature, _signature(manifest, key)) for key in keys):
        return
    known = [key_id(key) for key in keys]
    if claim.get("key_id") not in known:
        raise ExportError(
            f"the archive was signed with another key (key id {str(claim.get('key_id'))[:16]}; "
            f"this installation's EXPORT_SIGNING_KEY has the id {known[0]}"
            f"{', its previous keys ' + ', '.join(known[1:]) if known[1:] else ''}): import it "
            "where it was made, or list the key that signed it in EXPORT_PREVIOUS_SIGNING_KEYS")
    raise ExportError("the archive's signature does not match its manifest: the archive was "
                      "altered after its export")


# -- a city schema's tables -------------------------------------------------------------------

_TABLES_SQL = sa.text(
    """
    SELECT c.relname AS name, array_agg(a.attname ORDER BY a.attnum) AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attgenerated = ''
    WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname <> ALL(:skipped)
    GROUP BY c.relname ORDER BY c.relname
    """
)
_REFERENCES_SQL = sa.text(
    """
    SELECT c.relname AS child, p.relname AS parent
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_class p ON p.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype = 'f' AND n.nspname = :schema
    """
)
# Where each column's sequence (serial or identity) stands; NULL if never used.
_SEQUENCES_SQL = sa.text(
    """
    SELECT c.relname AS name, a.attname AS column, CAST(s.oid AS bigint) AS sequence,
           pg_sequence_last_value(s.oid) AS last_value
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_class c ON c.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype IN ('a', 'i') AND n.nspname = :schema
    ORDER BY c.relname, a.attname
    """
)
# SET LOCAL ROLE with the role as a parameter ('none': back to the session's user).
_SET_ROLE_SQL = sa.text("SELECT set_config('role', :role, true)")
_SETVAL_SQL = sa.text("SELECT setval(CAST(CAST(:sequence AS oid) AS regclass), :value)")


def city_tables(connection, schema: str) -> dict[str, tuple[str, ...]]:
    """The schema's tables and their columns, read from the catalog, every table after those
    it references (the order rows must be loaded in while the foreign keys hold)."""
    columns = {row.name: tuple(row.columns) for row in connection.execute(
        _TABLES_SQL, {"schema": schema, "skipped": sorted(NOT_EXPORTED)})}
    order = graphlib.TopologicalSorter({name: set() for name in columns})
    for child, parent in connection.execute(_REFERENCES_SQL, {"schema": schema}):
        if child != parent and child in columns and parent in columns:
            order.add(child, parent)
    try:
        return {name: columns[name] for name in order.static_order()}
    except graphlib.CycleError as error:
        raise ExportError(f"the tables of {schema} reference each other in a cycle "
                          f"({', '.join(error.args[1])}): their rows can't be loaded") from None


def _quoted(statement: str, *names: str, columns: tuple[str, ...]) -> sql.Composed:
    """A statement of identifiers quoted by psycopg: `statement` has {table} and
    {columns}."""
    return sql.SQL(statement).format(table=sql.SQL(".").join(map(sql.Identifier, names)),
                                     columns=sql.SQL(", ").join(map(sql.Identifier, columns)))


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


def _digest(path: Path) -> dict:
    sha256 = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_BLOCK), b""):
            sha256.update(block)
    return {"sha256": sha256.hexdigest(), "size": path.stat().st_size}


def _export_data(schema: str, folder: Path) -> tuple[str, dict]:
    """Every table's rows into folder/data/<table>, all read in one snapshot; returns the
    schema version and the manifest's `tables`."""
    engine = db.engine.execution_options(isolation_level="REPEATABLE READ",
                                         postgresql_readonly=True)
    (folder / DATA).mkdir()
    with engine.connect() as connection, connection.begin():
        versions = connection.exec_driver_sql(_quoted(
            "SELECT {columns} FROM {table}", schema, "alembic_version", columns=("version_num",),
        ).as_string(connection.connection.driver_connection)).scalars().all()
        if len(versions) != 1:
            raise ExportError(f"the schema {schema} has no single alembic_version row: not a "
                              "city schema this code can export")
        tables = {name: {"columns": list(columns), "sequences": {}}
                  for name, columns in city_tables(connection, schema).items()}
        for row in connection.execute(_SEQUENCES_SQL, {"schema": schema}):
            if row.name in tables and row.last_value is not None:
                tables[row.name]["sequences"][row.column] = row.last_value
        with connection.connection.driver_connection.cursor() as cursor:
            for name, table in tables.items():
                statement = _quoted("COPY {table} ({columns}) TO STDOUT", schema, name,
                                  columns=tuple(table["columns"]))
                with (folder / DATA / name).open("wb") as rows, cursor.copy(statement) as copy:
                    for block in copy:
                        rows.write(block)
    return versions[0], tables


def write_archive(output: Path, manifest: dict, members: dict[str, Path]) -> dict:
    """Write `manifest` (with every member's digest added) and `members` {name: file} to a
    signed archive at `output`, whole or not at all; returns the manifest written."""
    manifest = {**manifest, "members": {name: _digest(path) for name, path in members.items()}}
    data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    key = _signing_key()
    signed = json.dumps({"algorithm": SIGNATURE_ALGORITHM, "key_id": key_id(key),
                         "signature": _signature(data, key)}).encode()
    partial = output.with_name(output.name + ".part")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            for name, content in ((MANIFEST, data), (SIGNATURE, signed)):
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(content), int(datetime.now(UTC).timestamp())
                archive.addfile(info, io.BytesIO(content))
            for name, path in members.items():
                archive.add(path, arcname=name, recursive=False)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


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
    """Write the city `slug` (active, suspended or retired) to one signed archive at `output`
    (default: instance/exports/<slug>-<time>.tar.gz); written whole or not at all."""
    validate_slug(slug)
    _signing_key()  # before any work
    output = Path(output) if output else default_export_path(slug)
    with db.engine.connect() as connection:
        tenant = _tenant_info(connection, slug)
        rows = _platform_rows(connection, slug)
        server_version = connection.exec_driver_sql("SHOW server_version_num").scalar()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="city-export-") as scratch:
        version, tables = _export_data(tenant.schema, Path(scratch))
        platform_json = Path(scratch) / PLATFORM_ROWS
        platform_json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
        members = {PLATFORM_ROWS: platform_json,
                   **{DATA + name: Path(scratch) / DATA / name for name in tables}}
        files = city_folder(slug)
        if files.is_dir():
            for path in sorted(p for p in files.rglob("*") if p.is_file()):
                members[FILES + path.relative_to(files).as_posix()] = path
        manifest = write_archive(output, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "slug": slug,
            "schema": tenant.schema, "schema_version": version,
            "created_at": datetime.now(UTC).isoformat(), "app_version": app_version(),
            "server_version": int(server_version), "tables": tables,
        }, members)
    sha256 = _digest(output)["sha256"]
    with db.engine.begin() as connection:
        _audit(connection, "tenant.export", slug, by=by, file=output.name,
               schema_version=version, sha256=sha256)
    return Exported(output, manifest, sha256)


# -- reading an archive -----------------------------------------------------------------------

class _Capped:
    """A stream that refuses to yield more than `limit` bytes: the archive is inflated as it is
    read, so a compression bomb stops at the cap, not after inflating everything."""

    def __init__(self, stream, limit: int, refusal: str):
        self._stream, self._left, self._refusal = stream, limit, refusal

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._stream.read(wanted)
        self._left -= len(data)
        if self._left < 0:
            raise ExportError(self._refusal)
        return data


def _small_member(archive, entry, name: str, limit: int) -> bytes:
    if entry is None or entry.name != name or not entry.isfile():
        raise ExportError(f"the archive has no {name} where it belongs: not a city archive "
                          "of this version, or it was altered")
    if entry.size > limit:
        raise ExportError(f"the archive's {name} is {entry.size} bytes, more than a city "
                          f"archive's ({limit}): refused")
    return archive.extractfile(entry).read()


def _format_checked(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportError("not a city archive (its manifest is not one)")
    version = manifest.get("format_version")
    if isinstance(version, int) and version < FORMAT_VERSION:
        raise ExportError(
            f"the archive was made by an older version of CivicCloud "
            f"({str(manifest.get('app_version'))[:40]}, archive format {version}: unsigned, "
            f"its data as SQL) and is refused: this version imports format {FORMAT_VERSION} "
            "only. Import it with the version that made it, upgrade, then export the city again")
    if version != FORMAT_VERSION:
        raise ExportError(f"the archive's format version {str(version)[:20]} is newer than "
                          f"{FORMAT_VERSION}, the one this code reads: import it with newer code")
    return manifest


def _shape_checked(manifest: dict) -> dict:
    """The signed manifest has the shape our exporter writes (so a bug, not a forger, is all
    this can catch); every data member belongs to a table and every table has one."""
    members, tables = manifest.get("members"), manifest.get("tables")

    def texts(value):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    valid = (
        all(isinstance(manifest.get(key), str) for key in ("slug", "schema", "schema_version"))
        and isinstance(members, dict) and isinstance(tables, dict)
        and all(isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and isinstance(entry.get("size"), int) and entry["size"] >= 0
                for entry in members.values())
        and all(isinstance(table, dict) and texts(table.get("columns"))
                and isinstance(table.get("sequences"), dict)
                and all(isinstance(value, int) and not isinstance(value, bool)
                        for value in table["sequences"].values())
                for table in tables.values())
        and PLATFORM_ROWS in members
        and {name for name in members if name.startswith(DATA)} == {DATA + t for t in tables}
    )
    if not valid:
        raise ExportError("the archive's manifest is malformed: not made by this code's export")
    return manifest


def _member_path(into: Path, entry) -> Path:
    parts = Path(entry.name).parts
    if not entry.isfile() or entry.name.startswith("/") or ".." in parts or not parts:
        raise ExportError(f"the archive member {entry.name[:200]!r} is refused")
    return into.joinpath(*parts)


def _copy_member(archive, entry, target: Path, expected: dict) -> None:
    """Write the member to `target`, checking its size and digest as it streams."""
    if entry.size != expected["size"]:
        raise ExportError(f"the size of {entry.name} does not match the manifest: the archive "
                          "is damaged or was altered")
    target.parent.mkdir(parents=True, exist_ok=True)
    sha256 = hashlib.sha256()
    with archive.extractfile(entry) as source, target.open("wb") as copy:
        for block in iter(lambda: source.read(_BLOCK), b""):
            sha256.update(block)
            copy.write(block)
    if sha256.hexdigest() != expected["sha256"]:
        raise ExportError(f"the checksum of {entry.name} does not match the manifest: the "
                          "archive is damaged or was altered")


def read_archive(archive_path: Path, into: Path) -> dict:
    """Check the archive as it streams and write its members under `into`; returns its signed
    manifest. Refuses, with a message saying why, an archive over the caps
    (EXPORT_MAX_COMPRESSED_BYTES, EXPORT_MAX_UNCOMPRESSED_BYTES, EXPORT_MAX_MEMBERS), one of
    an older format, an unsigned one, one signed with another key, and any altered byte."""
    config = current_app.config
    max_compressed, max_inflated, max_members = (config[f"EXPORT_MAX_{cap}"] for cap in (
        "COMPRESSED_BYTES", "UNCOMPRESSED_BYTES", "MEMBERS"))
    keys = _accepted_keys()
    try:
        size = archive_path.stat().st_size
        if size > max_compressed:
            raise ExportError(f"{archive_path.name} is {size} bytes, more than "
                              f"EXPORT_MAX_COMPRESSED_BYTES ({max_compressed}): refused")
        with gzip.open(archive_path, "rb") as inflated, tarfile.open(
                mode="r|", fileobj=_Capped(
                    inflated, max_inflated,
                    f"{archive_path.name} inflates to more than EXPORT_MAX_UNCOMPRESSED_BYTES "
                    f"({max_inflated} bytes): refused")) as archive:
            entries = iter(archive)
            data = _small_member(archive, next(entries, None), MANIFEST, _MANIFEST_MAX_BYTES)
            manifest = _format_checked(data)
            entry = next(entries, None)
            if entry is None or entry.name != SIGNATURE:
                raise ExportError("the archive is not signed: refused (only archives that "
                                  "`flask tenants export` signed are imported)")
            _check_signature(data, _small_member(archive, entry, SIGNATURE,
                                                 _SIGNATURE_MAX_BYTES), keys)
            expected = _shape_checked(manifest)["members"]
            if len(expected) + 2 > max_members:
                raise ExportError(f"the archive has {len(expected) + 2} members, more than "
                                  f"EXPORT_MAX_MEMBERS ({max_members}): refused")
            if sum(entry["size"] for entry in expected.values()) > max_inflated:
                raise ExportError(f"the archive's members add up to more than "
                                  f"EXPORT_MAX_UNCOMPRESSED_BYTES ({max_inflated} bytes): "
                                  "refused")
            seen = set()
            for entry in entries:
                if entry.name not in expected or entry.name in seen:
                    raise ExportError(f"the archive member {entry.name[:200]!r} is not in its "
                                      "manifest (or is there twice): the archive was altered")
                seen.add(entry.name)
                _copy_member(archive, entry, _member_path(into, entry), expected[entry.name])
            if seen != set(expected):
                raise ExportError("the archive lacks members its manifest lists: the archive "
                                  "is damaged or was altered")
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as error:
        raise ExportError(f"{archive_path.name} can't be read as a city archive: "
                          f"{error}") from None
    return manifest


# -- importing --------------------------------------------------------------------------------

def _check_version(manifest: dict, script_location: Path | None) -> str:
    version = manifest["schema_version"]
    try:
        script_directory(TENANT_TREE, script_location).get_revision(version)
    except CommandError:
        raise ExportError(f"the archive's schema version {version[:40]} is unknown to this "
                          "code: import it with the code it was exported from (or "
                          "newer)") from None
    return version


def _schema_sql(version: str, schema: str, role: str,
                script_location: Path | None) -> list[str]:
    """The new city's tables at `version`, from our own code: the models' (as provisioning
    makes them) at the models' version, else our migrations' history up to `version`."""
    if version == tenant_head():
        return city_schema_sql(schema, role)
    history = render_upgrade(None, script_location, to_revision=version)
    if history is None:
        raise ExportError(f"a city of the schema version {version} can't be rebuilt here (a "
                          "migration up to it reads the database): import the archive with "
                          "the code it was exported from, upgrade, and export it again")
    return [*city_privileges_sql(schema, role), *history]


def _checked_tables(manifest: dict, known: dict[str, tuple[str, ...]]) -> None:
    """The archive's tables and columns must be exactly the new schema's: nothing else is ever
    named in a statement."""
    tables = manifest["tables"]
    unknown = sorted(set(tables) - set(known))
    if unknown:
        raise ExportError(f"the archive holds tables a city of its schema version does not "
                          f"have ({', '.join(repr(name[:80]) for name in unknown[:5])}): refused")
    missing = sorted(set(known) - set(tables))
    if missing:
        raise ExportError(f"the archive lacks the tables {', '.join(missing[:5])}: refused")
    for name, columns in known.items():
        given = tables[name]["columns"]
        if len(set(given)) != len(given) or set(given) != set(columns):
            raise ExportError(f"the archive's columns of the table {name} are not the table's "
                              "here: refused")


def _set_sequences(connection, schema: str, tables: dict) -> None:
    """Each sequence of the new schema (found in its catalog) where the archive's stood, or past
    its column's highest value if that is further (a sequence behind its rows, as on Citus'
    coordinator, must not hand out taken ids)."""
    quote = connection.connection.driver_connection
    found = connection.execute(_SEQUENCES_SQL, {"schema": schema}).all()
    given = {(name, column) for name in tables for column in tables[name]["sequences"]}
    unknown = sorted(given - {(row.name, row.column) for row in found})
    if unknown:
        raise ExportError(f"the archive sets the sequence of {'.'.join(unknown[0])}, which has "
                          "none here: refused")
    for row in found:
        highest = connection.exec_driver_sql(_quoted(
            "SELECT max({columns}) FROM {table}", schema, row.name,
            columns=(row.column,)).as_string(quote)).scalar()
        value = max((position for position in (
            tables[row.name]["sequences"].get(row.column), highest) if position is not None),
            default=None)
        if value is not None:
            connection.execute(_SETVAL_SQL, {"sequence": row.sequence, "value": value})


def _load_data(connection, folder: Path, manifest: dict, schema: str, role: str) -> None:
    """Every table's rows, COPY by COPY, and its sequences' positions, as the city's role (the
    schema's search_path set by new_city_sql): never as the owner."""
    known = city_tables(connection, schema)
    _checked_tables(manifest, known)
    tables = manifest["tables"]
    connection.execute(_SET_ROLE_SQL, {"role": role})
    with connection.connection.driver_connection.cursor() as cursor:
        for name in known:  # parents first: the foreign keys hold after every COPY
            statement = _quoted("COPY {table} ({columns}) FROM STDIN", schema, name,
                              columns=tuple(tables[name]["columns"]))
            with (folder / DATA / name).open("rb") as rows, cursor.copy(statement) as copy:
                for block in iter(lambda: rows.read(_BLOCK), b""):
                    copy.write(block)
    _set_sequences(connection, schema, tables)
    connection.execute(_SET_ROLE_SQL, {"role": "none"})


def _carried_columns(tenant_row: dict) -> dict:
    known = {column.name for column in Tenant.__table__.columns}
    unknown = sorted(set(tenant_row) - known)
    if unknown:
        raise ExportError(f"the archive's tenant row has columns this code does not know "
                          f"({', '.join(unknown)}): import it with newer code")
    return {key: value for key, value in tenant_row.items() if key not in _NOT_CARRIED}


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
    `domains`. Refuses an existing slug or domain, an archive over the caps, unsigned, signed
    with another key or altered, and a schema version this code does not know; an older one is
    migrated to head in the same transaction (migrations that can't be rendered run online
    right after the commit)."""
    archive_path = Path(archive_path)
    with tempfile.TemporaryDirectory(prefix="city-import-") as scratch:
        manifest = read_archive(archive_path, Path(scratch))
        version = _check_version(manifest, script_location)
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
        try:
            with engine.connect() as connection, connection.begin():
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
                # On Citus the schema is distributed once it is whole (as before: restore
                # first, distribute after).
                execute_statements(connection, [
                    *new_city_sql(schema, role, checks.database_oid, checks.citus,
                                  distributed=False),
                    *_schema_sql(version, schema, role, script_location)])
                _load_data(connection, Path(scratch), manifest, schema, role)
                execute_statements(connection, [
                    f'REVOKE ALL ON alembic_version FROM "{role}"',  # as provisioning leaves it
                    *append_only_sql(role), *(upgrade or ())])
                if checks.citus:
                    connection.execute(sa.text("SELECT citus_schema_distribute(:schema)"),
                                       {"schema": schema})
                _audit(connection, "tenant.import", slug, by=by, archive=archive_path.name,
                       source_slug=manifest["slug"], source_created_at=manifest.get("created_at"),
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


__all__ = ["ExportError", "Exported", "Imported", "city_tables", "export_city", "import_city",
           "read_archive", "write_archive"]
