"""Exporting a city to one archive and importing it again, under its own slug or a new one:
the data, the files, the role's isolation, and refusals that leave nothing behind."""
import io
import json
import os
import re
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
from app.staff.models import StaffMember
from tenants.context import tenant_context
from tenants.db import db
from tenants.export import (
    DATA,
    MANIFEST,
    SIGNATURE,
    ExportError,
    city_tables,
    export_city,
    import_city,
    key_id,
    write_archive,
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
            User(email="cy@example.test", display_name="Cy'); DROP TABLE users; --"),
            Announcement(title="Bridge closed", title_zh="桥梁关闭", body="Tab\there, back\\slash",
                         published_at=datetime(2026, 1, 1, tzinfo=UTC), pinned=True),
            AuditEntry(actor="test", action="seed", target="export"),
        ])
        db.session.commit()
        # staff_members references users: its rows load after theirs (not in name order)
        ann = db.session.scalar(sa.select(User).where(User.email == "ann@example.test"))
        db.session.add(StaffMember(user_id=ann.id, role="admin", modules=[]))
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
            "staff": db.session.execute(sa.select(User.email, StaffMember.role).join(
                StaffMember, StaffMember.user_id == User.id)).all(),
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
    # data only: no SQL, every table's rows as COPY text, signed
    with tarfile.open(exported.path, "r:gz") as archive:
        names = archive.getnames()
        users = archive.extractfile(f"{DATA}users").read().decode()
    assert names[:3] == [MANIFEST, SIGNATURE, "platform.json"]
    assert {name.split("/")[0] for name in names[3:]} == {"data", "files"}
    assert f"{DATA}alembic_version" not in names and "users" in manifest["tables"]
    assert "Cy'); DROP TABLE users; --" in users and "CREATE" not in users

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




def extracted(path, folder):
    """The archive's manifest (its members' digests left out) and its members as files."""
    folder.mkdir()
    with tarfile.open(path, "r:gz") as archive:
        archive.extractall(folder, filter="data")
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["members"]
    members = {name: folder / name for name in json.loads(
        (folder / MANIFEST).read_text())["members"]}
    return manifest, members


def forged(app, path, tmp_path, change, name="forged.tar.gz"):
    """A copy of an archive changed by change(manifest, members) and signed again with this
    installation's key: what only a holder of EXPORT_SIGNING_KEY could make."""
    manifest, members = extracted(path, tmp_path / f"{name}.d")
    change(manifest, members)
    with app.app_context():
        write_archive(tmp_path / name, manifest, members)
    return tmp_path / name


def rewritten(path, tmp_path, change, name="changed.tar.gz"):
    """A copy of an archive, member by member, with change(name, data) -> data (or None to
    leave the member out); the manifest and signature left as they were."""
    target = tmp_path / name
    with tarfile.open(path, "r:gz") as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                copy.addfile(member, io.BytesIO(data))
    return target


def tar_gz(target, members: dict[str, bytes]):
    with tarfile.open(target, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def refused_without_a_trace(app, archive, slug, message, **options):
    with app.app_context(), pytest.raises(ExportError, match=message):
        import_city(archive, slug=slug, domains=[f"{slug}.test"], **options)
    with app.app_context():
        assert footprint(slug) == NOTHING


def test_an_unsigned_altered_foreign_or_old_archive_is_refused(app, town, tmp_path, new_slug,
                                                               monkeypatch):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "good.tar.gz").path
    slug = new_slug("damaged")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(path.read_bytes()[:-200])
    one_byte = rewritten(path, tmp_path, lambda name, data: data.replace(
        b"Bridge closed", b"Bridge opened") if name == f"{DATA}announcements" else data)
    manifest_edited = rewritten(path, tmp_path, lambda name, data: data.replace(
        town.slug.encode(), b"someone-else") if name == MANIFEST else data, "manifest.tar.gz")
    unsigned = rewritten(path, tmp_path, lambda name, data: None if name == SIGNATURE else data,
                         "unsigned.tar.gz")
    not_ours = tar_gz(tmp_path / "other.tar.gz", {"readme.txt": b""})
    version_1 = tar_gz(tmp_path / "v1.tar.gz", {
        MANIFEST: json.dumps({"format": "civiccloud-city-export", "format_version": 1,
                              "app_version": "0.9"}).encode(),
        "schema.sql": b"DROP SCHEMA city_alpha CASCADE;\n"})
    for archive, message in [
            (truncated, "can't be read as a city archive"),
            (one_byte, f"checksum of {DATA}announcements does not match"),
            (manifest_edited, "signature does not match its manifest: the archive was altered"),
            (unsigned, "the archive is not signed"),
            (not_ours, "no manifest.json where it belongs"),
            (version_1, r"made by an older version of CivicCloud \(0.9, archive format 1")]:
        refused_without_a_trace(app, archive, slug, message)
    monkeypatch.setitem(app.config, "EXPORT_SIGNING_KEY", "another installation's key")
    refused_without_a_trace(app, path, slug, "signed with another key")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT to_regclass('city_alpha.users')").scalar()


def test_archives_signed_before_the_key_changed_import_while_the_old_key_is_listed(
        app, town, tmp_path, new_slug, monkeypatch):
    with app.app_context():
        path = export_city(town.slug, tmp_path / "before.tar.gz").path
    old = app.config["EXPORT_SIGNING_KEY"]
    monkeypatch.setitem(app.config, "EXPORT_SIGNING_KEY", "n" * 32)  # the key was replaced
    slug = new_slug("rekeyed")
    refused_without_a_trace(app, path, slug, "list the key that signed it in "
                                             "EXPORT_PREVIOUS_SIGNING_KEYS")
    monkeypatch.setitem(app.config, "EXPORT_PREVIOUS_SIGNING_KEYS", ("p" * 32, old))
    with app.app_context():
        import_city(path, slug=slug, domains=[f"{slug}.test"])
        assert footprint(slug) != NOTHING
        after = export_city(slug, tmp_path / "after.tar.gz").path
    with tarfile.open(after, "r:gz") as archive:
        signed = json.load(archive.extractfile(SIGNATURE))
    assert signed["key_id"] == key_id(b"n" * 32)  # new archives are signed with the new key


def test_a_forged_archive_runs_nothing_but_copies_into_the_citys_known_tables(
        app, town, tmp_path, new_slug, cities):
    """Even signed with our key, an archive names only the new city's own tables and columns:
    SQL in a name, another city's table or an unknown column is refused before any row."""
    with app.app_context():
        path = export_city(town.slug, tmp_path / "real.tar.gz").path
    slug = new_slug("forged")

    def renamed_table(new):
        def change(manifest, members):
            manifest["tables"][new] = manifest["tables"].pop("users")
            members[DATA + new] = members.pop(f"{DATA}users")
        return change

    def extra_column(manifest, members):
        manifest["tables"]["users"]["columns"].append(
            'id) FROM STDIN; CREATE FUNCTION evil() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql; --')

    def sequence_of_unknown_column(manifest, members):
        manifest["tables"]["users"]["sequences"]["no_such_column"] = 1

    def missing_table(manifest, members):
        del manifest["tables"]["users"], members[f"{DATA}users"]

    cases = [
        (renamed_table('users" (id) FROM STDIN; DROP SCHEMA city_alpha CASCADE; --'),
         "tables a city of its schema version does not have"),
        (renamed_table("city_alpha.users"), "tables a city of its schema version does not have"),
        (extra_column, "columns of the table users are not the table's here"),
        (sequence_of_unknown_column, "sequence of users.no_such_column, which has none"),
        (missing_table, "lacks the tables users"),
    ]
    for number, (change, message) in enumerate(cases):
        archive = forged(app, path, tmp_path, change, f"forged-{number}.tar.gz")
        refused_without_a_trace(app, archive, slug, message)
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT to_regclass('city_alpha.users')").scalar()
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM pg_proc WHERE proname = 'evil'").scalar() == 0


def test_tables_are_listed_after_those_they_reference(app, town):
    with app.app_context(), db.engine.connect() as connection:
        tables = list(city_tables(connection, town.schema))
        references = connection.exec_driver_sql(
            "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = "
            "k.conrelid JOIN pg_class p ON p.oid = k.confrelid WHERE k.contype = 'f' AND "
            f"c.relnamespace = '{town.schema}'::regnamespace AND c.oid <> p.oid").all()
    assert "alembic_version" not in tables and {"users", "staff_members"} <= set(tables)
    assert len(references) > 10
    assert all(tables.index(parent) < tables.index(child) for child, parent in references)


def test_a_sequence_behind_its_rows_is_moved_past_them(app, town, tmp_path, new_slug):
    """As on Citus' coordinator, whose sequences lag the workers': no id is handed out twice."""
    def lagging(manifest, members):
        for table in manifest["tables"].values():
            table["sequences"] = {}

    with app.app_context():
        path = export_city(town.slug, tmp_path / "lagging.tar.gz").path
        slug = new_slug("lagging")
        copy = import_city(forged(app, path, tmp_path, lagging), slug=slug,
                           domains=[f"{slug}.test"]).tenant
    with tenant_context(copy, app):
        db.session.add(User(email="next@example.test"))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 4
    with app.app_context():
        delete_tenant(slug)


def test_the_rows_are_loaded_as_the_citys_role_never_as_the_owner(app, town, tmp_path,
                                                                 new_slug, monkeypatch):
    """alembic_version exported as data (which the city's role may not write): the owner would
    load it, the import is refused with the database's "permission denied"."""
    monkeypatch.setattr("tenants.export.NOT_EXPORTED", frozenset())
    with app.app_context():
        path = export_city(town.slug, tmp_path / "with-version.tar.gz").path
    slug = new_slug("as-role")
    refused_without_a_trace(app, path, slug, "permission denied for table alembic_version")


def test_a_failure_inside_the_load_rolls_everything_back(app, town, tmp_path, new_slug,
                                                         uploads):
    """Rows the database refuses half-way (in a validly signed archive): the role, schema, rows
    and the files written for it are gone."""
    def broken(manifest, members):
        with members[f"{DATA}users"].open("a") as rows:
            rows.write("not a row\n")

    with app.app_context():
        path = export_city(town.slug, tmp_path / "ok.tar.gz").path
    slug = new_slug("broken")
    refused_without_a_trace(app, forged(app, path, tmp_path, broken), slug, "refused to import")
    assert not (uploads / slug).exists()


def test_caps_refuse_a_big_archive_and_a_bomb_while_streaming(app, town, tmp_path, new_slug,
                                                               uploads, monkeypatch):
    (uploads / town.slug / "big.bin").write_bytes(os.urandom(200_000))
    with app.app_context():
        path = export_city(town.slug, tmp_path / "capped.tar.gz").path
    with tarfile.open(path, "r:gz") as archive:
        manifest_size = archive.getmember(MANIFEST).size
    slug = new_slug("capped")
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "EXPORT_MAX_COMPRESSED_BYTES", 1000)
        refused_without_a_trace(app, path, slug, "more than EXPORT_MAX_COMPRESSED_BYTES")
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "EXPORT_MAX_MEMBERS", 3)
        refused_without_a_trace(app, path, slug, "more than EXPORT_MAX_MEMBERS")
    with monkeypatch.context() as patch:  # signed, but its manifest's sizes exceed the cap
        # the manifest, its signature and tarfile's read-ahead fit; the big file does not
        patch.setitem(app.config, "EXPORT_MAX_UNCOMPRESSED_BYTES", manifest_size + 40_000)
        refused_without_a_trace(app, path, slug, "members add up to more than "
                                                 "EXPORT_MAX_UNCOMPRESSED_BYTES")
    # A bomb: 8 MiB of zeros in a few kB, its end damaged. Inflating everything first would
    # end in the damage; the cap stops the stream at 1 MiB, long before it.
    bomb = tmp_path / "bomb.tar.gz"
    tar_gz(bomb, {MANIFEST: bytes(8 * 1024 * 1024)})
    compressed = bomb.read_bytes()
    assert len(compressed) < 20_000
    bomb.write_bytes(compressed[:-64] + b"damaged" * 8)
    monkeypatch.setitem(app.config, "EXPORT_MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    refused_without_a_trace(app, bomb, slug, "inflates to more than "
                                             "EXPORT_MAX_UNCOMPRESSED_BYTES")


def test_an_older_schema_version_is_rebuilt_from_history_and_migrated(app, town, tmp_path,
                                                                      new_slug):
    """A head archive imported by code one revision newer is loaded at its version (from the
    models) and migrated; an archive of that newer revision, imported by this code, refuses;
    imported by the newer code, its schema is built from the migrations' history."""
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
        connection = db.engine.connect()
        connection.exec_driver_sql(f"UPDATE {imported.tenant.schema}.users SET nickname = 'n'")
        connection.commit()
        connection.close()
        newer_path = export_city(slug, tmp_path / "newer.tar.gz").path
        delete_tenant(slug)
    refused_without_a_trace(app, newer_path, slug, "schema version e1port000001 is unknown")
    with app.app_context():
        rebuilt = import_city(newer_path, slug=slug, domains=[f"{slug}.test"],
                              script_location=newer).tenant
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(
                f"SELECT count(*) FROM {rebuilt.schema}.users WHERE nickname = 'n'"
            ).scalar() == len(snapshot(app, town)["users"])
        delete_tenant(slug)


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
        unsigned = rewritten(target, tmp_path, lambda name, data: None if name == SIGNATURE
                             else data, "unsigned.tar.gz")
        refused = cli.invoke(args=["tenants", "import", str(unsigned), "--slug", slug,
                                   "--domain", f"{slug}.test"])
        assert refused.exit_code == 1 and "the archive is not signed" in refused.output
        with cli.app.app_context():
            assert footprint(slug) == NOTHING
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
