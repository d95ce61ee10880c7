"""Exporting a city to one archive and importing it again, under its own slug or a new one:
the data, the files, the role's isolation, and refusals that leave nothing behind."""
import hashlib
import io
import json
import re
import shutil
import tarfile
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.branding.change import BrandingChange, apply_branding
from app.images import read_image
from app.modules import configure
from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tenants.export import (
    MANIFEST,
    SCHEMA_DUMP,
    ExportError,
    dump_parts,
    export_city,
    find_pg_dump,
    import_city,
)
from tenants.migrations import tenant_head
from tenants.provisioning import ProvisioningError, delete_tenant
from tenants.signals import tenant_created
from tests.tenants.test_migrations import tree_with
from tests.tenants.test_provisioning import NOTHING, footprint

LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        b'<rect width="10" height="10" fill="#1b5e20"/></svg>')


@pytest.fixture()
def town(app, make_city, uploads):
    """A city with citizens, a logo, a published announcement and audit rows."""
    tenant = make_city("exported", name_zh="出口城", locale="en")
    with app.app_context():
        apply_branding(tenant, BrandingChange(logo=read_image(LOGO, "logo"), texts={
            "tagline": "Rivers and 100% bridges"}), actor="test")
    with tenant_context(tenant, app):
        configure(enable=("announcements",))
        db.session.add_all([
            User(email="ann@example.test", display_name="Ann"),
            User(email="bo@example.test", display_name="Bo", mobile="13800000000"),
            Announcement(title="Bridge closed", title_zh="桥梁关闭", body="Tab\there, back\\slash",
                         published_at=datetime(2026, 1, 1, tzinfo=UTC), pinned=True),
            AuditEntry(actor="test", action="seed", target="export"),
        ])
        db.session.commit()
    return tenant


def snapshot(app, tenant) -> dict:
    """What a city holds, read as the city (its own role)."""
    with tenant_context(tenant.slug, app):
        return {
            "users": db.session.execute(sa.select(User.email, User.display_name, User.mobile)
                                        .order_by(User.id)).all(),
            "announcements": db.session.execute(sa.select(
                Announcement.title, Announcement.title_zh, Announcement.body,
                Announcement.pinned)).all(),
            "audit": db.session.execute(sa.select(AuditEntry.action, AuditEntry.target)
                                        .order_by(AuditEntry.id)).all(),
        }


def logo_of(client, host) -> bytes:
    page = client.get("/", headers={"Host": host}).get_data(as_text=True)
    url = re.search(r'src="(/[^"]*logo[^"]*)"', page).group(1)
    response = client.get(url, headers={"Host": host})
    assert response.status_code == 200
    return response.data


def test_a_city_round_trips_under_a_new_slug(app, client, town, uploads, tmp_path, new_slug):
    before = snapshot(app, town)
    with app.app_context():
        exported = export_city(town.slug, tmp_path / "town.tar.gz")
    manifest = exported.manifest
    assert manifest["slug"] == town.slug and manifest["schema_version"] == tenant_head()
    assert any(name.startswith("files/branding/logo-") for name in manifest["members"])

    slug = new_slug("imported")
    with app.app_context():
        imported = import_city(exported.path, slug=slug, domains=[f"{slug}.test"])
    copy = imported.tenant
    assert (copy.slug, copy.domains, copy.name_zh, copy.locale) == (
        slug, (f"{slug}.test",), "出口城", "en")
    assert copy.schema != town.schema and copy.db_role != town.db_role
    assert snapshot(app, copy) == before
    # served on its own host, with its own copy of the uploaded logo
    home = client.get("/", headers={"Host": f"{slug}.test"}).get_data(as_text=True)
    assert "Bridge closed" in home and "Rivers and 100% bridges" in home
    assert logo_of(client, f"{slug}.test") == logo_of(client, town.domains[0])
    assert (uploads / slug / "branding").is_dir()
    # the new city's role reaches its own schema only; its grants are those of a new city
    with app.app_context(), db.engine.connect() as connection:
        privilege = lambda role, table, what: connection.exec_driver_sql(  # noqa: E731
            f"SELECT has_table_privilege('{role}', '{table}', '{what}')").scalar()
        assert privilege(copy.db_role, f"{copy.schema}.users", "SELECT")
        assert not privilege(copy.db_role, f"{town.schema}.users", "SELECT")
        assert not privilege(copy.db_role, f"{copy.schema}.audit_log", "UPDATE")
        assert not privilege(copy.db_role, f"{copy.schema}.alembic_version", "SELECT")
        assert not privilege(town.db_role, f"{copy.schema}.users", "SELECT")
        connection.rollback()
        with connection.begin():
            connection.exec_driver_sql(f'SET LOCAL ROLE "{copy.db_role}"')
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                connection.exec_driver_sql(f"SELECT count(*) FROM {town.schema}.users")
        audit = connection.execute(sa.text(
            "SELECT action, detail FROM platform.audit_log WHERE tenant_slug = :s"),
            {"s": slug}).one()
    assert audit.action == "tenant.import" and audit.detail["source_slug"] == town.slug
    # identity sequences went along: a new row doesn't collide with the imported ones
    with tenant_context(copy, app):
        db.session.add(User(email="new@example.test"))
        db.session.commit()
    # the original is unchanged
    assert snapshot(app, town) == before
    with app.app_context():
        delete_tenant(slug)


def test_the_same_slug_is_refused_while_it_exists_and_restored_once_gone(app, town, tmp_path):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "same.tar.gz").path
        with pytest.raises(ProvisioningError, match="already exists"):
            import_city(path)  # its own slug and domain are taken: checked before anything
    before = snapshot(app, town)
    with app.app_context():
        delete_tenant(town.slug)
        assert footprint(town.slug) == NOTHING
        restored = import_city(path).tenant
    assert restored.domains == town.domains and restored.schema == town.schema
    assert snapshot(app, restored) == before


def test_refusals_leave_nothing_behind(app, town, tmp_path, new_slug, uploads, cities):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "refused.tar.gz").path
    slug = new_slug("refused")
    cases = [
        ({"slug": town.slug, "domains": [f"{slug}.test"]}, "slug 'exported-.*' already exists"),
        ({"slug": slug}, f"domain {town.domains[0]} already belongs"),
        ({"slug": slug, "domains": ["alpha.test"]}, "already belongs to the city alpha"),
        ({"slug": "Bad Slug", "domains": [f"{slug}.test"]}, "invalid slug"),
    ]
    for options, message in cases:
        with app.app_context(), pytest.raises(Exception, match=message):
            import_city(path, **options)
        with app.app_context():
            assert footprint(slug) == NOTHING
    assert not (uploads / slug).exists()


def rewritten(path, tmp_path, change, name="changed.tar.gz"):
    """A copy of an archive with member contents changed by change(name, data) -> data, the
    manifest (and so its checksums) left as they were."""
    target = tmp_path / name
    with tarfile.open(path, "r:gz") as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return target


def test_a_damaged_or_altered_archive_is_refused(app, town, tmp_path, new_slug):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "good.tar.gz").path
    slug = new_slug("damaged")
    options = {"slug": slug, "domains": [f"{slug}.test"]}
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(path.read_bytes()[:-200])
    altered = rewritten(path, tmp_path, lambda name, data: data.replace(
        b"Bridge closed", b"Bridge opened") if name == SCHEMA_DUMP else data)
    not_ours = tmp_path / "other.tar.gz"
    with tarfile.open(not_ours, "w:gz") as archive:
        archive.addfile(tarfile.TarInfo("readme.txt"), io.BytesIO(b""))
    for archive, message in [(truncated, "can't be read as a city archive"),
                             (altered, f"checksum of {SCHEMA_DUMP} does not match"),
                             (not_ours, "not a city archive")]:
        with app.app_context(), pytest.raises(ExportError, match=message):
            import_city(archive, **options)
        with app.app_context():
            assert footprint(slug) == NOTHING


def test_a_failure_inside_the_restore_rolls_everything_back(app, town, tmp_path, new_slug,
                                                           uploads):
    """A dump the database refuses half-way (checksums made to match): the role, schema, rows
    and the files written for it are gone."""
    def broken(name, data):
        if name == SCHEMA_DUMP:
            return re.sub(rb'(COPY "[^"]+"\."users" [^\n]*\n)', rb"\1not a row\n", data)
        return data

    with app.app_context():
        path = export_city(town.slug, tmp_path / "ok.tar.gz").path
    bad = rewritten(path, tmp_path, broken, "unchecked.tar.gz")
    bad = rewritten(bad, tmp_path, lambda name, data: _rechecked(bad, name, data),
                    "broken.tar.gz")
    slug = new_slug("broken")
    with app.app_context(), pytest.raises(ExportError, match="refused to import"):
        import_city(bad, slug=slug, domains=[f"{slug}.test"])
    with app.app_context():
        assert footprint(slug) == NOTHING
    assert not (uploads / slug).exists()


def _rechecked(path, name, data):
    """The manifest of `path` with the checksums of its members as they are now."""
    if name != MANIFEST:
        return data

    manifest = json.loads(data)
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers()[1:]:
            content = archive.extractfile(member).read()
            manifest["members"][member.name] = {"sha256": hashlib.sha256(content).hexdigest(),
                                                "size": len(content)}
    return json.dumps(manifest).encode()


def test_an_older_schema_version_is_migrated_and_an_unknown_one_refused(app, town, tmp_path,
                                                                       new_slug):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "old.tar.gz").path
    newer = tree_with(tmp_path, '    op.add_column("users", sa.Column("nickname", sa.Text))',
                      "e1port000001")
    slug = new_slug("upgraded")
    with app.app_context():
        imported = import_city(path, slug=slug, domains=[f"{slug}.test"],
                               script_location=newer)
        assert (imported.archive_version, imported.version) == (tenant_head(), "e1port000001")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(
                f"SELECT version_num FROM {imported.tenant.schema}.alembic_version"
            ).scalar() == "e1port000001"
            assert connection.exec_driver_sql(
                f"SELECT count(nickname) FROM {imported.tenant.schema}.users").scalar() == 0
        delete_tenant(slug)
    # a tree that doesn't know the archive's version (its head revision removed)
    older = tmp_path / "older"
    shutil.copytree(newer, older)
    head_file = next((older / "versions").glob(f"*{tenant_head()}*.py"))
    head_file.unlink()
    (older / "versions" / "e1port000001.py").unlink()
    with app.app_context(), pytest.raises(ExportError, match="unknown to this code"):
        import_city(path, slug=slug, domains=[f"{slug}.test"], script_location=older)
    with app.app_context():
        assert footprint(slug) == NOTHING


def test_the_dump_reader_renames_the_schema_in_sql_but_never_in_data():
    dump = [
        "SET statement_timeout = 0;\n",
        "\\restrict abc\n",
        'CREATE SCHEMA "city_a";\n',
        'CREATE TABLE "city_a"."notes" ("id" bigint);\n',
        'COPY "city_a"."notes" ("id", "text") FROM stdin;\n',
        '1\t"city_a" stays in data\n',
        "\\.\n",
        "SELECT pg_catalog.setval('\"city_a\".\"notes_id_seq\"', 1, true);\n",
    ]
    parts = [(kind, text, list(rows[0]) if rows else None)
             for kind, text, *rows in dump_parts(iter(dump), ("city_a", "city_b"))]
    assert parts == [
        ("sql", 'SET statement_timeout = 0;\nCREATE TABLE "city_b"."notes" ("id" bigint);\n',
         None),
        ("copy", 'COPY "city_b"."notes" ("id", "text") FROM stdin;\n',
         ['1\t"city_a" stays in data\n']),
        ("sql", "SELECT pg_catalog.setval('\"city_b\".\"notes_id_seq\"', 1, true);\n", None),
    ]
    with pytest.raises(ExportError, match="unexpected psql command"):
        list(dump_parts(iter(["\\! rm -rf /\n"])))


def test_pg_dump_is_chosen_to_fit_the_server(app_context):
    program, major = find_pg_dump(15)
    assert major >= 15 and program.name == "pg_dump"
    with pytest.raises(ExportError, match="no pg_dump of version 99 or newer"):
        find_pg_dump(99)


def test_the_cli_exports_and_imports(cli, town, tmp_path, new_slug):
    target = tmp_path / "cli.tar.gz"
    result = cli.invoke(args=["tenants", "export", town.slug, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.output and target.is_file()
    slug = new_slug("cli-import")
    created = []  # tenant_created, as provisioning sends it (the payment keys job listens)

    def receiver(sender, tenant):
        created.append((sender, tenant.slug, tenant.status, tenant.domains))

    with tenant_created.connected_to(receiver):
        result = cli.invoke(args=["tenants", "import", str(target), "--slug", slug,
                                  "--domain", f"{slug}.test"])
        assert result.exit_code == 0, result.output
        assert f"imported city {slug}" in result.output and f"{slug}.test" in result.output
        assert created == [(cli.app, slug, "active", (f"{slug}.test",))]
        refused = cli.invoke(args=["tenants", "import", str(target), "--slug", slug,
                                   "--domain", f"other-{slug}.test"])
        assert refused.exit_code == 1 and "already exists" in refused.output
        assert len(created) == 1  # nothing committed, nothing announced
    missing = cli.invoke(args=["tenants", "export", "no-such-city"])
    assert missing.exit_code == 1 and "no city with the slug" in missing.output
    cli.invoke(args=["tenants", "delete", slug, "--yes"])


def test_the_export_is_a_plain_dump_without_owners_or_privileges(app, town, tmp_path):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "plain.tar.gz").path
    with tarfile.open(path, "r:gz") as archive:
        dump = archive.extractfile(SCHEMA_DUMP).read().decode()
    assert f'CREATE TABLE "{town.schema}"."users"' in dump
    assert "OWNER TO" not in dump and "GRANT " not in dump
