"""The city site's asset routes (logo, hero image, theme style sheet, favicon) and
`flask tenants brand`.

Every asset URL carries a version (a hash of the content or of the settings it is made from),
so assets are cached for a year and a change shows at once; a URL whose version is not the
city's current one answers 404 (it is another city's, or an old one).
"""
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import click
from flask import Response, abort, current_app, redirect, send_file, url_for

from app.branding import (
    HERO_MAX_BYTES,
    LOGO_MAX_BYTES,
    TEXT_LIMITS,
    BrandingChange,
    BrandingError,
    apply_branding,
    current_branding,
    parse_languages,
    read_image,
    theme_version,
    upload_dir,
    version_of,
)
from app.citizen import bp
from app.models.branding import HERO_PATTERNS
from tenants.cli import tenants_cli
from tenants.context import current_tenant, directory
from tenants.models import LOCALES

ONE_YEAR = 365 * 24 * 3600
# An SVG opened on its own must not run anything, whatever slipped through the sanitiser.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _cache_forever(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _short(digest: str) -> str:
    return digest[:16]


# -- URLs the templates use ----------------------------------------------------------------

def image_url(branding, kind: str) -> str | None:
    file_name = getattr(branding, f"{kind}_file")
    if not file_name:
        return None
    return url_for(f"citizen.{kind}_image", version=_short(getattr(branding, f"{kind}_hash")),
                   ext=file_name.rsplit(".", 1)[-1])


def _monogram(city_name: str) -> str:
    return (city_name or "C").strip()[:1].upper() or "C"


def icon_version(branding, city_name: str) -> str:
    return version_of(branding.primary_color, branding.accent_color, _monogram(city_name))


def asset_urls(branding, city_name: str) -> dict:
    """What the layout links to: the theme style sheet, the logo, the favicon."""
    logo = image_url(branding, "logo")
    favicon = image_url(branding, "favicon")
    if favicon:
        favicon_type = branding.favicon_content_type
    elif logo:
        favicon, favicon_type = logo, branding.logo_content_type
    else:
        favicon = url_for("citizen.icon", version=icon_version(branding, city_name))
        favicon_type = "image/svg+xml"
    return {
        "theme_url": url_for("citizen.theme", version=theme_version(branding)),
        "logo_url": logo,
        "hero_url": image_url(branding, "hero"),
        "favicon_url": favicon,
        "favicon_type": favicon_type,
    }


# -- routes --------------------------------------------------------------------------------

def _image(kind: str, version: str, ext: str):
    branding = current_branding()
    file_name = getattr(branding, f"{kind}_file")
    digest = getattr(branding, f"{kind}_hash")
    if not file_name or version != _short(digest) or file_name.rsplit(".", 1)[-1] != ext:
        abort(404)
    path = upload_dir(current_tenant().slug) / file_name
    if not path.is_file():
        abort(404)
    content_type = getattr(branding, f"{kind}_content_type")
    response = send_file(path, mimetype=content_type, max_age=ONE_YEAR, etag=digest,
                         conditional=True)
    if content_type == "image/svg+xml":
        response.headers["Content-Security-Policy"] = SVG_POLICY
    return _cache_forever(response)


@bp.get("/brand/logo-<version>.<ext>")
def logo_image(version, ext):
    return _image("logo", version, ext)


@bp.get("/brand/hero-<version>.<ext>")
def hero_image(version, ext):
    return _image("hero", version, ext)


@bp.get("/brand/favicon-<version>.<ext>")
def favicon_image(version, ext):
    return _image("favicon", version, ext)


@bp.get("/brand/theme-<version>.css")
def theme(version):
    """The city's colours as CSS custom properties (site.css uses nothing else): one small
    cached style sheet instead of inline styles."""
    branding = current_branding()
    if version != theme_version(branding):
        abort(404)
    lines = [f":root {{ --brand: {branding.primary_color}; "
             f"--accent: {branding.accent_color}; }}"]
    hero_url = image_url(branding, "hero")
    if hero_url:
        lines.append(f'.hero-image {{ background-image: url("{hero_url}"); }}')
    return _cache_forever(Response("\n".join(lines) + "\n", mimetype="text/css"))


@bp.get("/brand/icon-<version>.svg")
def icon(version):
    """The favicon of a city without a logo: its initial on its colours."""
    branding = current_branding()
    tenant = current_tenant()
    names = [n for n in (tenant.name_zh, tenant.name) if icon_version(branding, n) == version]
    if not names:  # the version names the initial: of the Chinese or the English name
        abort(404)
    name = names[0]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="14" fill="{branding.primary_color}"/>'
        f'<rect y="52" width="64" height="12" fill="{branding.accent_color}"/>'
        '<text x="32" y="43" font-size="34" font-weight="700" text-anchor="middle" '
        'fill="#ffffff" font-family="system-ui, sans-serif">'
        f"{xml_escape(_monogram(name))}</text></svg>"
    )
    response = _cache_forever(Response(svg, mimetype="image/svg+xml"))
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


@bp.get("/favicon.ico")
def favicon():
    from flask_babel import get_locale

    urls = asset_urls(current_branding(), current_tenant().display_name(get_locale()))
    return redirect(urls["favicon_url"])


# -- flask tenants brand -------------------------------------------------------------------

def _read(path: Path | None, what: str, limit: int):
    if path is None:
        return None
    size = path.stat().st_size
    if size > limit:
        raise BrandingError(f"the {what} {path.name} is {size // 1024} KB; the limit is "
                            f"{limit // 1024} KB")
    return read_image(path.read_bytes(), what=what, max_bytes=limit)


def _show(branding, tenant) -> None:
    click.echo(f"{'city':<20}{tenant.slug} ({tenant.name} / {tenant.name_zh})")
    click.echo(f"{'default language':<20}{tenant.locale}")
    click.echo(f"{'languages':<20}{','.join(branding.languages)}")
    for name in ("primary_color", "accent_color", "hero_pattern", *TEXT_LIMITS):
        click.echo(f"{name.replace('_', ' '):<20}{getattr(branding, name) or '-'}")
    for kind in ("logo", "hero"):
        file_name = getattr(branding, f"{kind}_file")
        click.echo(f"{kind:<20}{file_name or '-'}"
                   + (f" ({getattr(branding, f'{kind}_content_type')})" if file_name else ""))


@tenants_cli.command("brand")
@click.argument("slug")
@click.option("--primary", help="Primary colour, hex (1b5e20 or '#1b5e20'): header, buttons "
                                "and links; white text must read on it (4.5:1).")
@click.option("--accent", help="Accent colour, hex: stripes, focus highlight, banner; dark "
                               "text must read on it (4.5:1) and it must stand out from the "
                               "primary colour (3:1).")
@click.option("--logo", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=f"Logo: PNG, JPEG or SVG, at most {LOGO_MAX_BYTES // 1024} KB.")
@click.option("--remove-logo", is_flag=True, help="Show the city's name without a logo.")
@click.option("--hero", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=f"Home page image: PNG, JPEG or SVG, at most {HERO_MAX_BYTES // 1024} KB.")
@click.option("--remove-hero", is_flag=True, help="Show the hero pattern instead of an image.")
@click.option("--hero-pattern", type=click.Choice(HERO_PATTERNS),
              help="The home page's pattern when there is no hero image.")
@click.option("--tagline", help="One line under the city's name, in English.")
@click.option("--tagline-zh", help="The tagline in Chinese.")
@click.option("--contact-address", help="Postal address, in English.")
@click.option("--contact-address-zh", help="Postal address, in Chinese.")
@click.option("--contact-phone", help="Phone number of the service centre.")
@click.option("--contact-email", help="Email address of the service centre.")
@click.option("--opening-hours", help="Opening hours of the service centre, in English.")
@click.option("--opening-hours-zh", help="Opening hours, in Chinese.")
@click.option("--languages", help="Languages the site offers, comma-separated: zh_Hans,en.")
@click.option("--default-language", type=click.Choice(LOCALES),
              help="The site's default language (one of the offered languages).")
def brand(slug, primary, accent, logo, remove_logo, hero, remove_hero, hero_pattern,
          languages, default_language, **texts):
    """Set the look and contact details of the city SLUG's site; without options, show them.
    Refused changes (too little contrast, a wrong or too large image ...) change nothing."""
    from tenants.context import tenant_context
    from tenants.provisioning import actor

    cities = directory()
    cities.mark_stale()
    tenant = cities.get(slug)
    if tenant is None:
        raise click.ClickException(f"no city with the slug {slug!r}")
    try:
        change = BrandingChange(
            primary_color=primary, accent_color=accent, hero_pattern=hero_pattern,
            texts={name: value for name, value in texts.items() if value is not None},
            languages=parse_languages(languages) if languages is not None else None,
            default_language=default_language,
            logo=_read(logo, "logo", current_app.config.get("BRANDING_LOGO_MAX_BYTES",
                                                            LOGO_MAX_BYTES)),
            hero=_read(hero, "hero image", current_app.config.get("BRANDING_HERO_MAX_BYTES",
                                                                  HERO_MAX_BYTES)),
            remove_logo=remove_logo, remove_hero=remove_hero,
        )
        if change == BrandingChange():
            with tenant_context(tenant):
                _show(current_branding(), tenant)
            return
        changed = apply_branding(tenant, change, actor())
    except BrandingError as error:
        raise click.ClickException(f"{slug}: {error}") from None
    if not changed:
        click.echo(f"{slug}: nothing to change")
        return
    click.echo(f"{slug}: branding saved")
    for name, (before, after) in changed.items():
        if name.endswith(("_content_type", "_hash")):
            continue
        click.echo(f"  {name.replace('_', ' ')}: {_shown(before)} -> {_shown(after)}")


def _shown(value) -> str:
    if isinstance(value, list):
        return ",".join(value)
    return value if value not in (None, "") else "-"
