"""The module framework (enable, configure, 404 where disabled) and the announcements module."""
import json
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.modules import ModuleError, configure, discover, settings_of
from app.modules.announcements.models import Announcement
from tenants.context import tenant_context
from tenants.db import db
from tests.support.cities import host


@pytest.fixture()
def town(make_city):
    return make_city("mod", locale="en")


def modules_cli(cli, tenant, *options):
    return cli.invoke(args=["tenants", "modules", tenant.slug, *options])


def announce(app, tenant, days_ago=1, **fields) -> int:
    with tenant_context(tenant, app):
        announcement = Announcement(
            title=fields.pop("title", "Water works on Main Street"),
            published_at=datetime.now(UTC) - timedelta(days=days_ago), **fields)
        db.session.add(announcement)
        db.session.commit()
        return announcement.id


def test_modules_are_discovered_with_their_defaults():
    announcements = discover()["announcements"]
    assert announcements.slug == "announcements"
    assert announcements.settings().load({}) == {"per_page": 10, "show_banner": True}


def test_a_disabled_module_answers_404_and_is_off_the_home_page(app, client, cli, town):
    assert client.get("/announcements/", headers=host(town)).status_code == 404
    assert "/announcements/" not in client.get("/", headers=host(town)).get_data(as_text=True)
    result = modules_cli(cli, town, "--enable", "announcements")
    assert result.exit_code == 0 and "announcements        enabled" in result.output
    assert client.get("/announcements/", headers=host(town)).status_code == 200  # no restart
    home = client.get("/", headers=host(town)).get_data(as_text=True)
    assert 'href="/announcements/"' in home and "News and notices from the city." in home
    assert modules_cli(cli, town, "--disable", "announcements").exit_code == 0
    assert client.get("/announcements/", headers=host(town)).status_code == 404


def test_the_home_page_promises_only_the_services_the_city_offers(app, client, town):
    home = client.get("/", headers=host(town)).get_data(as_text=True)
    assert "hospital" not in home.lower() and "service-card" not in home
    with tenant_context(town, app):
        configure(enable=["traffic_fines", "utility_bills"])
        db.session.commit()
    home = client.get("/", headers=host(town)).get_data(as_text=True)
    assert "Online, from your phone or computer: Traffic fines and Utility bills." in home
    assert home.count('class="service-card"') == 2
    for promise in ("hospital", "passport", "announcements"):
        assert promise not in home.lower(), promise
    # in Chinese too: the hero names the cards' services
    chinese = client.get("/", headers={**host(town), "Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    hero = chinese.split('<div class="hero-panel">', 1)[1].split("</div>", 1)[0]
    names = re.findall(r'<span class="service-name">(.*?)</span>', chinese)
    assert len(names) == 2 and all(name in hero for name in names)


def test_settings_are_validated_and_bad_input_changes_nothing(app, cli, town):
    result = modules_cli(cli, town, "--enable", "announcements", "--set",
                         "announcements.per_page=500")
    assert result.exit_code == 1
    assert "announcements.per_page" in result.output and "nothing changed" in result.output
    with tenant_context(town, app):
        assert settings_of("announcements") == {"per_page": 10, "show_banner": True}
        assert db.session.scalar(sa.text("SELECT count(*) FROM modules")) == 0
    for options, message in ((["--enable", "parking"], "parking: no such module"),
                             (["--set", "announcements.colour=red"], "Unknown field"),
                             (["--set", "announcements"], "KEY.field=value"),
                             (["--enable", "announcements", "--disable", "announcements"],
                              "both enabled and disabled")):
        result = modules_cli(cli, town, *options)
        assert result.exit_code != 0 and message in result.output, (options, result.output)
    assert "no city" in cli.invoke(args=["tenants", "modules", "no-such-city"]).output


def test_changes_are_applied_together_and_audited(app, cli, town):
    result = modules_cli(cli, town, "--enable", "announcements", "--set",
                         "announcements.per_page=2", "--set", "announcements.show_banner=false")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines()
                if line.startswith("announcements") and "enabled " in line)
    assert json.loads(line.split("enabled ", 1)[1]) == {"per_page": 2, "show_banner": False}
    with tenant_context(town, app):
        entry = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "module.configure"))
        assert entry.target == "announcements" and entry.before["enabled"] is False
        assert entry.after == {"enabled": True, "settings": {"per_page": 2,
                                                             "show_banner": False}}
        with pytest.raises(ModuleError, match="no such module"):
            configure(enable=["nothing-like-it"])


def test_announcements_list_detail_and_drafts(app, client, cli, town):
    modules_cli(cli, town, "--enable", "announcements", "--set", "announcements.per_page=2")
    ids = [announce(app, town, days_ago=d, title=f"Notice {d}", body="First.\n\nSecond.")
           for d in (3, 2, 1)]
    draft = announce(app, town, days_ago=-1, title="Tomorrow's notice")
    first_page = client.get("/announcements/", headers=host(town)).get_data(as_text=True)
    assert "Notice 1" in first_page and "Notice 2" in first_page
    assert "Notice 3" not in first_page and "Tomorrow" not in first_page
    assert "Notice 3" in client.get("/announcements/?page=2", headers=host(town)).get_data(
        as_text=True)
    detail = client.get(f"/announcements/{ids[0]}", headers=host(town)).get_data(as_text=True)
    assert "<p>First.</p>" in detail and "<p>Second.</p>" in detail
    assert client.get(f"/announcements/{draft}", headers=host(town)).status_code == 404
    assert client.get("/announcements/?page=9", headers=host(town)).status_code == 404


def test_the_language_picks_the_title(app, client, cli, make_city):
    town = make_city("mod-zh")  # Chinese by default
    modules_cli(cli, town, "--enable", "announcements")
    announce(app, town, title="Road closed", title_zh="道路封闭")
    chinese = client.get("/announcements/", headers=host(town)).get_data(as_text=True)
    assert "道路封闭" in chinese and "Road closed" not in chinese
    client.get("/lang/en", headers=host(town))
    english = client.get("/announcements/", headers=host(town)).get_data(as_text=True)
    assert "Road closed" in english and "道路封闭" not in english


def test_the_atom_feed(app, client, cli, town):
    modules_cli(cli, town, "--enable", "announcements")
    announce(app, town, title="Feed <item> & more", body="Body text")
    response = client.get("/announcements/feed.atom", headers=host(town))
    assert response.content_type.startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.data)
    atom = "{http://www.w3.org/2005/Atom}"
    (entry,) = feed.findall(f"{atom}entry")
    assert entry.find(f"{atom}title").text == "Feed <item> & more"
    assert entry.find(f"{atom}link").get("href").startswith(f"http://{town.domains[0]}/")
    assert feed.find(f"{atom}author/{atom}name").text


def test_a_pinned_announcement_is_the_banner_of_every_page(app, client, cli, town):
    modules_cli(cli, town, "--enable", "announcements")
    announce(app, town, title="Typhoon warning: stay indoors", pinned=True)
    for path in ("/", "/account/login"):
        assert "Typhoon warning" in client.get(path, headers=host(town)).get_data(as_text=True)
    modules_cli(cli, town, "--set", "announcements.show_banner=false")
    assert "Typhoon warning" not in client.get("/", headers=host(town)).get_data(as_text=True)
