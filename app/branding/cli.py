"""`flask tenants brand`: a city's look and contact details from the command line, through
the same validation as the console (app.branding.change)."""
from pathlib import Path

import click

from app.branding import BrandingError, current_branding
from app.branding.change import (
    HERO_MAX_BYTES,
    LOGO_MAX_BYTES,
    TEXT_LIMITS,
    BrandingChange,
    apply_branding,
    parse_languages,
)
from app.branding.models import HERO_PATTERNS
from app.images import ImageRefused, read_image
from tenants.cli import tenants_cli
from tenants.context import directory, tenant_context
from tenants.models import LOCALES
from tenants.provisioning import actor


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
@click.option("--icp-filing", help="The site's ICP filing number, such as "
                                   "浙ICP备12345678号-1, shown in every footer ('' removes it).")
@click.option("--languages", help="Languages the site offers, comma-separated: zh_Hans,en.")
@click.option("--default-language", type=click.Choice(LOCALES),
              help="The site's default language (one of the offered languages).")
def brand(slug, primary, accent, logo, remove_logo, hero, remove_hero, hero_pattern,
          languages, default_language, **texts):
    """Set the look and contact details of the city SLUG's site; without options, show them.
    Refused changes (too little contrast, a wrong or too large image ...) change nothing."""
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
            logo=_read(logo, "logo", LOGO_MAX_BYTES),
            hero=_read(hero, "hero image", HERO_MAX_BYTES),
            remove_logo=remove_logo, remove_hero=remove_hero,
        )
        if change == BrandingChange():
            with tenant_context(tenant):
                _show(current_branding(), tenant)
            return
        changed = apply_branding(tenant, change, actor())
    except (BrandingError, ImageRefused) as error:
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
