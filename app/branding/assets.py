"""The city site's branding assets: logo, hero image, tab icon and theme style sheet.

Every asset URL carries a version (a hash of the content or of the settings it is made from),
so assets are cached for a year and a change shows at once; a URL whose version is not the
city's current one answers 404 (it is another city's, or an old one).
"""
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, abort, redirect, send_file, url_for
from flask_babel import get_locale

from app.branding import current_branding, theme_version, version_of
from app.branding.change import branding_folder
from tenants.context import current_tenant

bp = Blueprint("branding", __name__)

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
    return url_for(f"branding.{kind}_image", version=_short(getattr(branding, f"{kind}_hash")),
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
        favicon = url_for("branding.icon", version=icon_version(branding, city_name))
        favicon_type = "image/svg+xml"
    return {
        "theme_url": url_for("branding.theme", version=theme_version(branding)),
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
    path = branding_folder(current_tenant().slug) / file_name
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
    urls = asset_urls(current_branding(), current_tenant().display_name(get_locale()))
    return redirect(urls["favicon_url"])
