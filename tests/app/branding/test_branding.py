"""A city's look: colour contrast, uploaded images, `flask tenants brand`, the asset routes, the
home page, the language switcher, the choice of language, money and dates."""
import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import flask_babel
import pytest
import sqlalchemy as sa
from flask import render_template_string, session
from flask_login import login_user

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.branding import BrandingError
from app.branding import change as brand
from app.branding.change import BrandingChange, apply_branding
from app.branding.colours import check_contrast, contrast_problems, contrast_ratio, normalize_color
from app.branding.models import Branding
from app.i18n import format_city_date, format_city_datetime, select_locale
from app.images import read_image
from app.modules import configure
from app.modules.announcements.models import Announcement
from app.money import format_fen
from tenants.context import bind_tenant, directory, tenant_context
from tenants.db import db
from tenants.models import PlatformAuditEntry
from tests.support import ROOT
from tests.support.accounts import consented
from tests.support.cities import PASSWORD, host, post_form
from tests.support.images import SVG, jpeg, png

STATIC = ROOT / "app/static"


@pytest.fixture()
def files(tmp_path):
    """Write a file for the CLI to read: files("logo.svg", data) -> its path."""
    def write(name, data):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


def brand_city(app, tenant, actor="test", **change):
    with app.app_context():
        return apply_branding(tenant, BrandingChange(**change), actor)


def state(app, tenant) -> dict:
    """The city's branding row (None if none), its audit rows and its default language."""
    with tenant_context(tenant, app):
        row = db.session.get(Branding, 1)
        audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        return {"branding": brand._snapshot(row) if row else None, "audit": audit,
                "locale": directory().get(tenant.slug).locale}


# -- colours -------------------------------------------------------------------------------

def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#000") == pytest.approx(21)  # symmetric, 3 digits too
    assert contrast_ratio("#1b5e20", "#1b5e20") == pytest.approx(1)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("value, expected", [
    ("#1B5E20", "#1b5e20"), ("1b5e20", "#1b5e20"), ("#abc", "#aabbcc"), (" #0b4f8a ", "#0b4f8a")])
def test_colours_are_normalized(value, expected):
    assert normalize_color(value) == expected


@pytest.mark.parametrize("value", ["red", "#12345", "#1234567", "", "#ggg000", "rgb(0,0,0)"])
def test_what_is_not_a_hex_colour_is_refused(value):
    with pytest.raises(BrandingError, match="is not a colour"):
        normalize_color(value)


@pytest.mark.parametrize("primary, accent", [
    ("#1f4e8c", "#f2b632"),  # the defaults
    ("#1b5e20", "#f9a825"), ("#9b1b1f", "#d4a017"), ("#0b4f8a", "#4dd0e1"),  # the demo cities
    ("#000000", "#ffffff"),
])
def test_colours_with_enough_contrast_are_accepted(primary, accent):
    assert contrast_problems(primary, accent) == []
    check_contrast(primary, accent)


@pytest.mark.parametrize("primary, accent, pair", [
    ("#77aadd", "#ffd54f", "white text on the primary colour #77aadd"),  # primary too light
    ("#1b5e20", "#555555", "dark text (#1a1a1a) on the accent colour #555555"),  # accent too dark
    ("#0b4f8a", "#00a3a1", "the accent colour #00a3a1 on the primary colour #0b4f8a"),  # too close
])
def test_a_pair_under_its_minimum_is_refused_with_a_clear_message(primary, accent, pair):
    with pytest.raises(BrandingError) as refused:
        check_contrast(primary, accent)
    message = str(refused.value)
    assert pair in message and "WCAG 2.2 AA needs at least" in message
    assert re.search(r"contrast \d\.\d\d:1", message) and "choose a" in message


def test_primary_links_on_white_are_checked_as_well_as_white_on_primary():
    (problem,) = contrast_problems("#777777", "#ffd54f")
    assert "#777777 links on white" in problem.pair and problem.minimum == 4.5


def test_the_ratio_shown_is_never_rounded_up_to_the_minimum():
    (problem,) = contrast_problems("#777777", "#ffd54f")  # 4.48:1
    assert problem.ratio == pytest.approx(4.478, abs=0.001) and "4.47:1" in str(problem)


# -- flask tenants brand -------------------------------------------------------------------

def test_brand_saves_everything_and_records_it_in_the_city_audit_log(
        app, cli, client, make_city, uploads, files):
    city = make_city("brand")
    result = cli.invoke(args=[
        "tenants", "brand", city.slug, "--primary", "#1B5E20", "--accent", "f9a825",
        "--logo", files("logo.svg", SVG), "--hero", files("hero.jpg", jpeg()),
        "--hero-pattern", "hills", "--tagline", "Green mountains", "--tagline-zh", "绿水青山",
        "--contact-phone", "0578-2012345", "--contact-email", "service@city.example",
        "--contact-address", "1 Huayuan Road", "--contact-address-zh", "花园路1号",
        "--opening-hours", "Mon-Fri 9-17", "--opening-hours-zh", "周一至周五 9-17",
        "--icp-filing", "浙ICP备12345678号-1",
        "--languages", "en,zh_Hans", "--default-language", "en"])
    assert result.exit_code == 0, result.output
    assert "branding saved" in result.output and "#1f4e8c -> #1b5e20" in result.output
    assert "icp filing: - -> 浙ICP备12345678号-1" in result.output
    saved = state(app, city)
    row = saved["branding"]
    assert row["primary_color"] == "#1b5e20" and row["accent_color"] == "#f9a825"
    assert row["logo_content_type"] == "image/svg+xml" and row["logo_file"].endswith(".svg")
    assert row["hero_content_type"] == "image/jpeg" and row["hero_file"].endswith(".jpg")
    assert row["languages"] == ["en", "zh_Hans"] and row["contact_phone"] == "0578-2012345"
    assert saved["locale"] == "en" and saved["audit"] == 1
    assert (uploads / city.slug / "branding" / row["logo_file"]).is_file()
    assert (uploads / city.slug / "branding" / row["hero_file"]).read_bytes() == jpeg()
    with tenant_context(city, app):
        entry = db.session.scalar(sa.select(AuditEntry))
    assert entry.action == "branding.update" and entry.actor.startswith("cli")
    assert entry.before["primary_color"] == "#1f4e8c" and entry.after["primary_color"] == "#1b5e20"
    assert entry.after["tagline_zh"] == "绿水青山" and "contact_email" in entry.after
    with app.app_context():
        platform_entry = db.session.scalar(sa.select(PlatformAuditEntry).where(
            PlatformAuditEntry.tenant_slug == city.slug,
            PlatformAuditEntry.action == "tenant.locale"))
    assert platform_entry.detail == {"before": "zh_Hans", "after": "en"}

    page = client.get("/", headers=host(city)).get_data(as_text=True)
    assert 'lang="en"' in page and "Green mountains" in page and "service@city.example" in page
    assert 'href="tel:05782012345"' in page and "1 Huayuan Road" in page
    assert 'content="#1b5e20"' in page and f"/brand/logo-{row['logo_hash'][:16]}.svg" in page
    assert "hero-image" in page  # the image instead of a pattern

    shown = cli.invoke(args=["tenants", "brand", city.slug])
    assert shown.exit_code == 0 and "#1b5e20" in shown.output and "service@city.example" in \
        shown.output
    again = cli.invoke(args=["tenants", "brand", city.slug, "--primary", "#1b5e20"])
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert state(app, city)["audit"] == 1


def test_replacing_or_removing_an_image_removes_the_old_file(app, cli, make_city, uploads, files):
    city = make_city("brand-swap")
    folder = uploads / city.slug / "branding"
    assert cli.invoke(args=["tenants", "brand", city.slug, "--logo",
                            files("a.png", png())]).exit_code == 0
    first = state(app, city)["branding"]["logo_file"]
    assert cli.invoke(args=["tenants", "brand", city.slug, "--logo",
                            files("b.svg", SVG)]).exit_code == 0
    second = state(app, city)["branding"]["logo_file"]
    assert first != second and not (folder / first).exists() and (folder / second).exists()
    assert cli.invoke(args=["tenants", "brand", city.slug, "--remove-logo"]).exit_code == 0
    assert state(app, city)["branding"]["logo_file"] is None and not (folder / second).exists()


def test_a_png_named_jpg_is_stored_as_what_it_is(app, cli, make_city, uploads, files):
    city = make_city("brand-named")
    assert cli.invoke(args=["tenants", "brand", city.slug, "--logo",
                            files("logo.jpg", png())]).exit_code == 0
    row = state(app, city)["branding"]
    assert row["logo_content_type"] == "image/png" and row["logo_file"].endswith(".png")


@pytest.mark.parametrize("options, message", [
    (["--primary", "#77aadd"], "white text on the primary colour #77aadd"),
    (["--accent", "#555555"], "dark text (#1a1a1a) on the accent colour #555555"),
    (["--primary", "#0b4f8a", "--accent", "#00a3a1"], "needs at least 3:1"),
    (["--primary", "green"], "is not a colour"),
    (["--accent", "#12345"], "is not a colour"),
    (["--logo", ("logo.png", b"not an image at all")], "must be a PNG, JPEG or SVG"),
    (["--logo", ("logo.svg", b"<html><script>x()</script></html>")], "not an SVG image"),
    (["--logo", ("big.png", png() + b"\x00" * 600 * 1024)], "the limit is 512 KB"),
    (["--hero", ("hero.gif", b"GIF89a....")], "must be a PNG, JPEG or SVG"),
    (["--logo", "/no/such/file.png"], "does not exist"),
    (["--languages", "en,fr"], "unknown language 'fr'"),
    (["--languages", "en"], "the default language zh_Hans must be one of the offered"),
    (["--default-language", "fr"], "Invalid value for '--default-language'"),
    (["--hero-pattern", "plaid"], "Invalid value for '--hero-pattern'"),
    (["--contact-email", "not an email"], "is not an email address"),
    (["--contact-phone", "call us!"], "is not a phone number"),
    (["--icp-filing", "ICP 12345"], "is not one such as 浙ICP备12345678号-1"),
    (["--tagline", "x" * 201], "the limit is 200"),
    (["--logo", ("a.svg", SVG), "--remove-logo"], "not both"),
    # A good logo with a refused colour: neither is saved.
    (["--logo", ("good.svg", SVG), "--primary", "#ffffff"], "choose a darker primary colour"),
])
def test_refused_changes_exit_non_zero_with_a_message_and_change_nothing(
        app, cli, make_city, uploads, files, options, message):
    city = make_city("brand-bad")
    args = []
    for option in options:
        args.append(files(*option) if isinstance(option, tuple) else option)
    before = state(app, city)
    result = cli.invoke(args=["tenants", "brand", city.slug, *args])
    assert result.exit_code != 0, result.output
    assert message in result.output, result.output
    assert state(app, city) == before
    assert not (uploads / city.slug).exists() or not any((uploads / city.slug).rglob("*.*"))


def test_an_unknown_city_is_refused(cli, uploads):
    result = cli.invoke(args=["tenants", "brand", "no-such-city", "--primary", "#1b5e20"])
    assert result.exit_code != 0 and "no city with the slug 'no-such-city'" in result.output


def test_a_database_failure_leaves_no_file_behind(app, make_city, uploads):
    city = make_city("brand-fails")
    change = BrandingChange(logo=read_image(png()))
    with app.app_context(), pytest.raises(BrandingError, match="could not be saved"):
        apply_branding(city, change, actor="x" * 300)  # too long for audit_log.actor
    assert state(app, city)["branding"] is None
    assert not any((uploads / city.slug).rglob("*.*"))


def test_a_new_city_gets_decent_defaults(app, client, make_city):
    city = make_city("fresh")
    page = client.get("/", headers=host(city)).get_data(as_text=True)
    assert 'content="#1f4e8c"' in page and "hero-pattern hero-dots" in page
    assert 'class="brand-mark"' in page  # the city's initial instead of a logo
    theme = client.get(re.search(r'href="(/brand/theme-[^"]+)"', page).group(1),
                       headers=host(city))
    assert "--brand: #1f4e8c" in theme.get_data(as_text=True)
    with tenant_context(city, app):
        defaults = Branding.current()
    assert defaults.languages == ["zh_Hans", "en"] and not defaults.has_contact
    check_contrast(defaults.primary_color, defaults.accent_color)


def test_flask_demo_makes_three_different_looking_cities_once(cli, client, uploads):
    first = cli.invoke(args=["demo"])
    assert first.exit_code == 0 and first.output.count("created at") == 3, first.output
    again = cli.invoke(args=["demo"])
    assert again.exit_code == 0 and again.output.count("exists, kept") == 3
    looks = set()
    for city in ("lishui", "beijing", "shenzhen"):
        page = client.get("/", headers={"Host": f"{city}.localhost"}).get_data(as_text=True)
        colour = re.search(r'name="theme-color" content="([^"]+)"', page).group(1)
        pattern = re.search(r"hero-pattern (hero-\w+)", page).group(1)
        looks.add((colour, asset_urls(page)["logo"], pattern))
        assert "service@" in page and "tel:" in page  # contact details in the footer
    assert len({look[0] for look in looks}) == len({look[1] for look in looks}) == \
        len({look[2] for look in looks}) == 3


# -- asset routes --------------------------------------------------------------------------

@pytest.fixture()
def two_branded(app, make_city, uploads):
    """Two cities with their own colours, logos (SVG and PNG) and, for the first, a hero."""
    first, second = make_city("look-a"), make_city("look-b")
    brand_city(app, first, primary_color="#1b5e20", accent_color="#f9a825",
               hero_pattern="hills", logo=read_image(SVG), hero=read_image(jpeg()))
    brand_city(app, second, primary_color="#9b1b1f", accent_color="#d4a017",
               hero_pattern="grid", logo=read_image(png()))
    return first, second


def asset_urls(page: str) -> dict:
    return {kind: match.group(0) for kind in ("logo", "hero", "theme", "icon")
            if (match := re.search(rf"/brand/{kind}-[0-9a-f]+\.[a-z]+", page))}


def test_the_home_pages_of_two_cities_look_different(client, two_branded):
    first, second = two_branded
    pages = [client.get("/", headers=host(city)).get_data(as_text=True) for city in two_branded]
    urls = [asset_urls(page) for page in pages]
    assert urls[0]["logo"] != urls[1]["logo"] and urls[0]["theme"] != urls[1]["theme"]
    assert 'content="#1b5e20"' in pages[0] and "#9b1b1f" not in pages[0]
    assert 'content="#9b1b1f"' in pages[1] and "#1b5e20" not in pages[1]
    assert "hero-image" in pages[0] and "hero-pattern hero-grid" in pages[1]
    themes = [client.get(u["theme"], headers=host(c)).get_data(as_text=True)
              for u, c in zip(urls, two_branded, strict=True)]
    assert "--brand: #1b5e20; --accent: #f9a825" in themes[0]
    assert "--brand: #9b1b1f; --accent: #d4a017" in themes[1]
    assert asset_urls(themes[0])["hero"] and "hero" not in asset_urls(themes[1])


def test_assets_are_served_with_their_type_and_cached_by_version(client, two_branded):
    first, second = two_branded
    urls = asset_urls(client.get("/", headers=host(first)).get_data(as_text=True))
    theme = client.get(urls["theme"], headers=host(first))
    assert theme.mimetype == "text/css" and "immutable" in theme.headers["Cache-Control"]
    urls.update(asset_urls(theme.get_data(as_text=True)))  # the hero is the style sheet's
    logo = client.get(urls["logo"], headers=host(first))
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in logo.headers["Cache-Control"]
    assert b"<rect" in logo.data and b"<script" not in logo.data
    hero = client.get(urls["hero"], headers=host(first))
    assert hero.mimetype == "image/jpeg" and hero.data == jpeg()
    second_logo = asset_urls(client.get("/", headers=host(second)).get_data(as_text=True))["logo"]
    png_logo = client.get(second_logo, headers=host(second))
    assert png_logo.mimetype == "image/png" and png_logo.data == png()
    favicon = client.get("/favicon.ico", headers=host(second))
    assert favicon.status_code == 302 and favicon.location.endswith(second_logo)


def test_another_citys_or_a_missing_asset_is_404(app, client, two_branded, make_city, uploads):
    first, second = two_branded
    first_urls = asset_urls(client.get("/", headers=host(first)).get_data(as_text=True))
    first_urls.update(asset_urls(client.get(first_urls["theme"], headers=host(first))
                                 .get_data(as_text=True)))
    assert {"logo", "hero", "theme"} <= set(first_urls)
    for url in first_urls.values():  # the first city's assets asked of the second's host
        assert client.get(url, headers=host(second)).status_code == 404, url
    plain = make_city("look-plain")  # no logo, no hero
    for url in ("/brand/logo-0123456789abcdef.png", "/brand/hero-0123456789abcdef.jpg",
                "/brand/theme-000000000000.css", "/brand/icon-000000000000.svg",
                first_urls["logo"].replace(".svg", ".png")):
        assert client.get(url, headers=host(plain)).status_code == 404, url
        assert client.get(url, headers=host(first)).status_code == 404, url
    with tenant_context(first, app):
        file_name = Branding.current().logo_file
    (uploads / first.slug / "branding" / file_name).unlink()  # the file is gone from disk
    assert client.get(first_urls["logo"], headers=host(first)).status_code == 404


def test_a_city_without_a_logo_gets_a_generated_favicon(client, make_city):
    city = make_city("look-icon", name_zh="图标市")
    page = client.get("/", headers=host(city)).get_data(as_text=True)
    icon = asset_urls(page)["icon"]
    response = client.get(icon, headers=host(city))
    assert response.mimetype == "image/svg+xml" and "图" in response.get_data(as_text=True)
    assert client.get("/favicon.ico", headers=host(city)).location.endswith(icon)
    client.get("/lang/en", headers=host(city))
    english = asset_urls(client.get("/", headers=host(city)).get_data(as_text=True))["icon"]
    assert english != icon and ">L<" in client.get(english, headers=host(city)).get_data(
        as_text=True)  # Look-Icon-n's initial
    assert client.get(icon, headers=host(city)).status_code == 200  # the other one still works


# -- pages: 320 px, no script, no other host, hooks ----------------------------------------

def test_pages_fit_a_phone_run_no_script_and_load_nothing_from_another_host(client, cities):
    for path in ("/", "/account/login", "/account/register", "/nowhere"):
        page = client.get(path, headers={"Host": "alpha.test"}).get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert "<script" not in page.lower()
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", page)  # no event handler attributes
        assert ' style="' not in page and "<style" not in page
        urls = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert urls, path  # the stylesheet at least: the check below has something to check
        for url in urls:
            parts = urlsplit(url)
            assert not parts.netloc and parts.scheme in ("", "tel", "mailto"), url
    css = (STATIC / "css/site.css").read_text()
    assert not re.search(r"(?<![-\w])(?:min-)?width:\s*\d{3,}px", css)  # no fixed widths
    assert "@import" not in css and "http" not in css
    assert "url(" not in css  # nothing loaded from the style sheet


def test_service_cards_and_the_banner_come_from_the_enabled_modules(app, client, make_city):
    city = make_city("cards", locale="en")
    page = client.get("/", headers=host(city)).get_data(as_text=True)
    assert "The city's online services will be listed here" in page
    assert "site-banner" not in page
    with tenant_context(city, app):
        configure(enable=["announcements", "appointments"])
        db.session.add(Announcement(title="Closed on 1 October.", title_zh="10月1日休息",
                                    pinned=True, published_at=datetime.now(UTC)))
        db.session.commit()
    page = client.get("/", headers=host(city)).get_data(as_text=True)
    assert "Hospital appointments" in page and 'href="/services/appointments/"' in page
    assert "icons.svg#health" in page
    assert "Passport renewal" not in page and "will be listed here" not in page
    assert "site-banner" in page and "Closed on 1 October." in page
    assert (STATIC / "icons.svg").read_text().count("<symbol") >= 6


# -- the language switcher -----------------------------------------------------------------

def test_the_switcher_sets_the_language_and_goes_back_to_the_page(client, cities):
    alpha = {"Host": "alpha.test"}
    home = client.get("/", headers=alpha).get_data(as_text=True)
    assert 'lang="zh-Hans"' in home and 'href="/lang/en?next=/"' in home
    response = client.get("/lang/en?next=/account/login?next=/account/", headers=alpha)
    assert response.status_code == 302 and response.location == "/account/login?next=/account/"
    assert 'lang="en"' in client.get("/", headers=alpha).get_data(as_text=True)
    with client.session_transaction(headers=alpha) as kept:
        assert kept["locale"] == "en"
    login = client.get("/account/login", headers=alpha).get_data(as_text=True)
    assert "/lang/zh_Hans?next=/account/login" in login  # the switcher comes back here
    client.get("/lang/zh_Hans", headers=alpha)
    assert 'lang="zh-Hans"' in client.get("/", headers=alpha).get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example/", "http:evil.example", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "evil.example", "/\t/evil.example",
    "%2F%2Fevil.example",
])
def test_the_switcher_never_redirects_to_another_site(client, cities, target):
    from urllib.parse import quote

    response = client.get(f"/lang/en?next={quote(target, safe='')}",
                          headers={"Host": "alpha.test"})
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert not location.netloc and not location.scheme and response.location.startswith("/")
    assert not response.location.startswith(("//", "/\\"))


def test_the_switcher_offers_only_the_citys_languages(app, client, make_city, uploads):
    city = make_city("mono")
    brand_city(app, city, languages=["zh_Hans"])
    assert client.get("/lang/en", headers=host(city)).status_code == 404
    assert client.get("/lang/fr", headers=host(city)).status_code == 404
    page = client.get("/", headers={**host(city), "Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-Hans"' in page and "/lang/" not in page  # no switcher for one language


# -- choosing the language -----------------------------------------------------------------

def locale_for(app, tenant=None, chosen=None, user_locale=None, accept="", host_name=None):
    headers = {"Host": host_name or (tenant.domains[0] if tenant else "platform.test")}
    if accept:
        headers["Accept-Language"] = accept
    with app.test_request_context("/", headers=headers):
        if tenant is not None:
            bind_tenant(tenant)
        if chosen:
            session["locale"] = chosen
        if user_locale:
            login_user(User(id=1, active=True, locale=user_locale, password_hash="x"))
        return select_locale()


def test_the_language_is_chosen_session_then_user_then_browser_then_city(app, make_city,
                                                                         uploads):
    city = make_city("order")  # default zh_Hans, offers both
    assert locale_for(app, city, accept="en") == "en"  # a first visit: the browser's (#21)
    assert locale_for(app, city, accept="fr") == "zh_Hans"  # none of the city's: its default
    assert locale_for(app, city) == "zh_Hans"
    assert locale_for(app, city, user_locale="en", accept="zh") == "en"  # the user's beats it
    assert locale_for(app, city, chosen="zh_Hans", user_locale="en") == "zh_Hans"  # session wins
    assert locale_for(app, city, chosen="en", user_locale="zh_Hans") == "en"
    assert locale_for(app, None, accept="en-GB,en;q=0.9") == "en"  # no city: the browser
    assert locale_for(app, None, accept="zh-CN") == "zh_Hans"
    assert locale_for(app, None, accept="fr") == "zh_Hans"


def test_only_the_citys_offered_languages_are_chosen(app, make_city, uploads):
    city = make_city("only-en", locale="en")
    brand_city(app, city, languages=["en"])
    assert locale_for(app, city, chosen="zh_Hans", user_locale="zh_Hans", accept="zh") == "en"
    odd = make_city("odd")  # offers English only but still says Chinese by default
    with tenant_context(odd, app):
        db.session.add(Branding(id=1, languages=["en"]))
        db.session.commit()
    assert locale_for(app, odd, accept="zh-CN") == "en"


def test_a_signed_in_citizens_language_is_used_through_the_site(app, client, make_city):
    from app.accounts import hash_password

    city = make_city("user-lang")  # Chinese by default
    with tenant_context(city, app):
        db.session.add(User(email="reader@example.com", locale="en",
                            password_hash=hash_password(PASSWORD), **consented()))
        db.session.commit()
    signed_in = post_form(client, city, "/account/login",
                          {"identifier": "reader@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert 'lang="en"' in client.get("/", headers=host(city)).get_data(as_text=True)
    client.get("/lang/zh_Hans", headers=host(city))
    assert 'lang="zh-Hans"' in client.get("/", headers=host(city)).get_data(as_text=True)


# -- money, dates and times ----------------------------------------------------------------

@pytest.mark.parametrize("locale, fen, shown", [
    ("zh_Hans", 123450, "¥1,234.50"), ("en", 123450, "¥1,234.50"), ("zh_Hans", 5, "¥0.05"),
    ("en", 0, "¥0.00"), ("en", -2500, "-¥25.00"), ("zh_Hans", 10_000_000_00, "¥10,000,000.00"),
])
def test_money_kept_in_fen_is_shown_in_yuan(locale, fen, shown):
    assert format_fen(fen, locale=locale) == shown


def test_money_must_be_integer_fen():
    with pytest.raises(TypeError):
        format_fen(12.5, locale="en")
    assert format_fen(None, locale="en") == ""


def in_city(app, tenant, locale):
    context = app.test_request_context("/", headers={"Host": tenant.domains[0]})
    context.push()
    bind_tenant(tenant)
    session["locale"] = locale
    flask_babel.refresh()
    return context


@pytest.mark.parametrize("locale, expected_datetime, expected_date, expected_money", [
    ("zh_Hans", "2024年5月1日 14:30", "2024年5月1日", "¥1,234.50"),
    ("en", "May 1, 2024, 2:30\u202fPM", "May 1, 2024", "¥1,234.50"),
])
def test_dates_and_times_are_shown_in_the_citys_time_zone_for_the_language(
        app, cities, locale, expected_datetime, expected_date, expected_money):
    moment = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)  # 14:30 in Asia/Shanghai
    context = in_city(app, cities["alpha"], locale)
    try:
        shown = format_city_datetime(moment)
        assert shown.replace("\u202f", " ") == expected_datetime.replace("\u202f", " ")
        assert format_city_datetime(moment.replace(tzinfo=None)) == shown  # naive is UTC
        assert format_city_date(moment) == expected_date
        assert format_city_date(date(2024, 5, 1)) == expected_date
        late = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)  # already 2 May in the city
        assert "2" in format_city_date(late) and format_city_date(late) != expected_date
        rendered = render_template_string(
            "{{ amount | fen }}|{{ moment | datetime }}|{{ moment | date }}|{{ moment | time }}",
            amount=123450, moment=moment)
        money, when, day, time = rendered.split("|")
        assert money == expected_money and when == shown and day == expected_date
        assert "14:30" in time or "2:30" in time
    finally:
        context.pop()
