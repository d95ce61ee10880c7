"""A city's look: colour contrast (WCAG 2.2 AA), uploaded images (PNG and JPEG checked by their
content, SVG sanitised through an allow-list) and saving a branding change.

A change is validated completely before anything is written; the city's row and its audit entry
commit together; image files are content-addressed and written before the commit, and removed
again if the commit fails, so a refused or failed change leaves nothing behind.
"""
import hashlib
import math
import re
import shutil
import struct
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from flask import current_app, g, has_app_context

from app.audit.models import AuditEntry
from app.branding.models import HERO_PATTERNS, OFFERED_LANGUAGES, Branding
from tenants.db import db
from tenants.signals import tenant_deleted

WHITE = "#ffffff"
INK = "#1a1a1a"  # the site's text colour (site.css --text)
TEXT_CONTRAST = 4.5  # WCAG 2.2 SC 1.4.3, normal text
NON_TEXT_CONTRAST = 3.0  # WCAG 2.2 SC 1.4.11, focus indicators and graphics

LOGO_MAX_BYTES = 512 * 1024
HERO_MAX_BYTES = 2 * 1024 * 1024
MAX_IMAGE_SIDE = 10_000


class BrandingError(ValueError):
    """A branding change was refused; the message says why. Nothing was changed."""


# -- colours -------------------------------------------------------------------------------

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def normalize_color(value: str, what: str = "colour") -> str:
    """'#1B5E20', '1b5e20' or '#1b5' -> '#1b5e20'; anything else is refused."""
    match = _HEX.match((value or "").strip())
    if not match:
        raise BrandingError(f"{what} {value!r} is not a colour: give a hex colour such as "
                            "#1b5e20")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def relative_luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB hex colour (0 black .. 1 white)."""
    color = normalize_color(color)
    channels = []
    for i in (1, 3, 5):
        c = int(color[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g_, b = channels
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter colour's luminance as L1: 1 .. 21."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# The colour pairs checked, by what they are: the console names the field to change.
TEXT_ON_PRIMARY, TEXT_ON_ACCENT, ACCENT_ON_PRIMARY = (
    "text_on_primary", "text_on_accent", "accent_on_primary")


@dataclass(frozen=True)
class ContrastProblem:
    pair: str
    ratio: float
    minimum: float
    advice: str
    kind: str = ""

    @property
    def passes(self) -> bool:
        return self.ratio >= self.minimum

    @property
    def shown_ratio(self) -> float:
        return math.floor(self.ratio * 100) / 100  # never round 4.496 up to "4.5"

    def __str__(self) -> str:
        return (f"{self.pair}: contrast {self.shown_ratio:.2f}:1, WCAG 2.2 AA needs at least "
                f"{self.minimum:g}:1; {self.advice}")


def contrast_problems(primary: str, accent: str) -> list[ContrastProblem]:
    """Every colour pair the site's stylesheet uses with the city's colours, checked:

    - white text on the primary colour (header, hero, buttons, footer), which is also the
      pair of primary-coloured links and headings on the white page;
    - the site's dark text on the accent colour (announcement banner, focus highlight);
    - the accent against the primary colour (accent stripes and the focus highlight on the
      city-coloured header, hero and footer: a non-text contrast of 3:1).
    """
    return [check for check in contrast_checks(primary, accent) if not check.passes]


def contrast_checks(primary: str, accent: str) -> list[ContrastProblem]:
    """The pairs of `contrast_problems` with their ratios, whether they pass or not (the
    console shows them all)."""
    primary, accent = normalize_color(primary), normalize_color(accent)
    return [
        ContrastProblem(
            f"white text on the primary colour {primary} (and {primary} links on white)",
            contrast_ratio(WHITE, primary), TEXT_CONTRAST, "choose a darker primary colour",
            TEXT_ON_PRIMARY),
        ContrastProblem(f"dark text ({INK}) on the accent colour {accent}",
                        contrast_ratio(INK, accent), TEXT_CONTRAST,
                        "choose a lighter accent colour", TEXT_ON_ACCENT),
        ContrastProblem(f"the accent colour {accent} on the primary colour {primary}",
                        contrast_ratio(accent, primary), NON_TEXT_CONTRAST,
                        "choose a lighter accent colour or a darker primary colour",
                        ACCENT_ON_PRIMARY),
    ]


def check_contrast(primary: str, accent: str) -> None:
    problems = contrast_problems(primary, accent)
    if problems:
        raise BrandingError("colours refused, too little contrast:\n"
                            + "\n".join(f"  - {problem}" for problem in problems))


# -- images --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str
    extension: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def file_name(self, kind: str) -> str:
        return f"{kind}-{self.digest[:16]}.{self.extension}"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{math.ceil(n / 1024)} KB"


def read_image(data: bytes, what: str = "image", max_bytes: int = LOGO_MAX_BYTES) -> Image:
    """A PNG, JPEG or SVG image, recognised by its content (never its name); SVGs come back
    sanitised. Anything else, or anything larger than max_bytes, is refused."""
    if len(data) > max_bytes:
        raise BrandingError(f"the {what} is {_size(len(data))}; the limit is {_size(max_bytes)}")
    if not data:
        raise BrandingError(f"the {what} is an empty file")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(data, what)
        return Image(data, "image/png", "png")
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data, what)
        return Image(data, "image/jpeg", "jpg")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return Image(sanitize_svg(data, what), "image/svg+xml", "svg")
    raise BrandingError(f"the {what} must be a PNG, JPEG or SVG image; this file is none of "
                        "these")


def _check_side(width: int, height: int, what: str, kind: str) -> None:
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise BrandingError(f"the {what} is not a usable {kind} image ({width}x{height} pixels)")


def _check_png(data: bytes, what: str) -> None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise BrandingError(f"the {what} is a damaged PNG file")
    width, height = struct.unpack(">II", data[16:24])
    _check_side(width, height, what, "PNG")
    if b"IEND" not in data[-16:]:
        raise BrandingError(f"the {what} is a truncated PNG file")


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_jpeg(data: bytes, what: str) -> None:
    """Walk the segments up to a start-of-frame marker and read the image's size there."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF_MARKERS and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            _check_side(width, height, what, "JPEG")
            return
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        i += 2 + length
    raise BrandingError(f"the {what} is a damaged JPEG file")


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# Elements a logo or a hero image needs; anything else (script, style, foreignObject, image,
# a, animate, set, metadata of editors ...) is dropped with its content.
SVG_ELEMENTS = frozenset({
    "svg", "g", "defs", "title", "desc", "symbol", "use", "path", "rect", "circle", "ellipse",
    "line", "polyline", "polygon", "text", "tspan", "linearGradient", "radialGradient", "stop",
    "clipPath", "mask", "pattern",
})
SVG_ATTRIBUTES = frozenset({
    "id", "class", "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy",
    "r", "rx", "ry", "fx", "fy", "d", "points", "transform", "preserveAspectRatio", "version",
    "fill", "fill-opacity", "fill-rule", "clip-rule", "clip-path", "mask", "stroke",
    "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity", "color",
    "gradientUnits", "gradientTransform", "spreadMethod", "offset", "stop-color",
    "stop-opacity", "clipPathUnits", "maskUnits", "maskContentUnits", "patternUnits",
    "patternContentUnits", "patternTransform", "font-family", "font-size", "font-weight",
    "font-style", "text-anchor", "dominant-baseline", "letter-spacing", "dx", "dy",
    "role", "aria-label", "aria-hidden", "focusable", "display", "visibility", "style",
    "href", f"{{{XLINK_NS}}}href", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang",
})
# Properties kept from a style attribute (editors such as Inkscape write most styling there).
SVG_STYLE_PROPERTIES = frozenset({
    "fill", "fill-opacity", "fill-rule", "clip-rule", "clip-path", "mask", "stroke",
    "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity", "color",
    "stop-color", "stop-opacity", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "letter-spacing", "display", "visibility",
})
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#[\w.:-]+['\"]?\s*\)", re.IGNORECASE)
_UNSAFE_VALUE = re.compile(r"[\\<>]|expression\s*\(|@import|javascript:|data:",
                           re.IGNORECASE)
MAX_SVG_ELEMENTS = 20_000


def _safe_value(value: str) -> bool:
    """No external reference: url() only to an id in the same document, no escapes."""
    if _UNSAFE_VALUE.search(value):
        return False
    return not _URL.search(_LOCAL_URL.sub("", value))


def _clean_style(style: str) -> str:
    kept = []
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if sep and name in SVG_STYLE_PROPERTIES and value and _safe_value(value):
            kept.append(f"{name}:{value}")
    return ";".join(kept)


def _local_name(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _clean_attributes(source: ET.Element, target: ET.Element) -> None:
    for name, value in source.attrib.items():
        namespace, local = _local_name(name)
        if name not in SVG_ATTRIBUTES or local.lower().startswith("on"):
            continue
        if local == "href":
            if value.strip().startswith("#") and _safe_value(value):
                target.set(name, value.strip())
            continue
        if local == "style":
            value = _clean_style(value)
            if value:
                target.set(name, value)
            continue
        if _safe_value(value):
            target.set(name, value)


def _copy_allowed(source: ET.Element, count: list[int]) -> ET.Element | None:
    namespace, name = _local_name(source.tag) if isinstance(source.tag, str) else (None, "")
    if namespace != SVG_NS or name not in SVG_ELEMENTS:
        return None
    count[0] += 1
    if count[0] > MAX_SVG_ELEMENTS:
        raise BrandingError("the SVG image has too many elements")
    target = ET.Element(source.tag)
    _clean_attributes(source, target)
    target.text = source.text if name in {"text", "tspan", "title", "desc"} else None
    for child in source:
        copied = _copy_allowed(child, count)
        if copied is not None:
            copied.tail = child.tail if name in {"text", "tspan"} else None
            target.append(copied)
    return target


def sanitize_svg(data: bytes, what: str = "image") -> bytes:
    """The SVG rebuilt from allowed elements and attributes only: no script, no event handler
    attributes, no style sheets, no reference outside the document. Parsed with defusedxml,
    so DTDs, entities and external entities are refused."""
    try:
        root = parse_xml(data, forbid_dtd=True)
    except DefusedXmlException:
        raise BrandingError(f"the {what} is refused: SVG files with a DTD or entities are not "
                            "accepted") from None
    except ET.ParseError as error:
        raise BrandingError(f"the {what} is neither PNG, JPEG nor a well-formed SVG image "
                            f"({error})") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise BrandingError(f"the {what} is an XML file but not an SVG image (its root element "
                            f"must be <svg> in the SVG namespace)")
    clean = _copy_allowed(root, [0])
    if "viewBox" not in clean.attrib and {"width", "height"} <= set(clean.attrib):
        width, height = (re.sub(r"[a-z%]+$", "", clean.get(k).strip()) for k in ("width",
                                                                                 "height"))
        try:
            clean.set("viewBox", f"0 0 {float(width):g} {float(height):g}")
        except ValueError:
            pass
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(clean, encoding="utf-8",
                                                                      xml_declaration=False)


# -- where images live ---------------------------------------------------------------------

def upload_dir(slug: str, area: str = "branding") -> Path:
    """instance/uploads/<city>/<area> (UPLOAD_DIR overrides instance/uploads): every city's
    uploads, of branding and of modules (area "passports" ...), live in its own folder."""
    root = current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads"
    return Path(root) / slug / area


def write_upload(path: Path, data: bytes) -> None:
    """Write an uploaded file whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(data)
    temporary.replace(path)


@tenant_deleted.connect
def remove_uploads(sender, tenant, **extra) -> None:
    """A deleted or purged city's uploads folder (instance/uploads/<city>) goes with it, so a
    later city of the same slug starts with none. Sent in the deleting app's context."""
    folder = upload_dir(tenant.slug).parent
    if folder.is_dir():
        shutil.rmtree(folder)


# -- the branding of the current request ---------------------------------------------------

def current_branding() -> Branding:
    """The bound city's branding, read once per request or command (g.branding). If the
    database fails (an error page is being rendered for that failure), the defaults."""
    if "branding" not in g:
        try:
            g.branding = Branding.current()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            g.branding = Branding.defaults()
    return g.branding


def offered_languages() -> list[str]:
    """The bound city's languages, in the order the city gave them (both when none is bound)."""
    if not has_app_context() or g.get("tenant") is None:
        return list(OFFERED_LANGUAGES)
    return [code for code in current_branding().languages if code in OFFERED_LANGUAGES] or \
        list(OFFERED_LANGUAGES)


def version_of(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12]


def theme_version(branding: Branding) -> str:
    return version_of(branding.primary_color, branding.accent_color, branding.hero_pattern,
                      branding.hero_hash or "")


# -- changing a city's branding ------------------------------------------------------------

TEXT_LIMITS = {
    "tagline": 200, "tagline_zh": 200, "contact_address": 300, "contact_address_zh": 300,
    "contact_phone": 40, "contact_email": 254, "opening_hours": 200, "opening_hours_zh": 200,
}
CONTACT_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,38}$")
CONTACT_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}$")
IMAGE_KINDS = ("logo", "favicon", "hero")
AUDITED = ("primary_color", "accent_color", "hero_pattern", "languages", *TEXT_LIMITS,
           *(f"{kind}_{part}" for kind in IMAGE_KINDS for part in ("file", "content_type",
                                                                   "hash")))
NAME_MAX = 200  # platform.tenants.name and name_zh
# Settings kept in platform.tenants: column -> the name a change reports.
PLATFORM_SETTINGS = {"locale": "default_language", "name": "name", "name_zh": "name_zh",
                     "timezone": "timezone"}


@dataclass
class BrandingChange:
    """What to change; None (or False) leaves a setting as it is."""

    primary_color: str | None = None
    accent_color: str | None = None
    hero_pattern: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    languages: list[str] | None = None
    default_language: str | None = None
    logo: Image | None = None
    hero: Image | None = None
    remove_logo: bool = False
    remove_hero: bool = False
    favicon: Image | None = None  # without one, the logo (or the city's initial) serves
    remove_favicon: bool = False
    # Kept in platform.tenants (the directory serves them without a query):
    name: str | None = None
    name_zh: str | None = None
    timezone: str | None = None


def check_timezone(name: str) -> str:
    """An IANA time zone name such as Asia/Shanghai, else BrandingError."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BrandingError(f"unknown time zone {name!r}: use an IANA name such as "
                            "Asia/Shanghai") from None
    return name


def _validated_names(change: BrandingChange) -> dict[str, str]:
    names = {}
    for column in ("name", "name_zh"):
        value = getattr(change, column)
        if value is None:
            continue
        value = " ".join(value.split())
        if not value:
            raise BrandingError(f"{column.replace('_', ' ')}: the city needs a name")
        if len(value) > NAME_MAX:
            raise BrandingError(f"{column.replace('_', ' ')} is {len(value)} characters long; "
                                f"the limit is {NAME_MAX}")
        names[column] = value
    return names


def parse_languages(value: str) -> list[str]:
    codes = []
    for code in (part.strip() for part in value.replace(" ", ",").split(",")):
        if not code:
            continue
        if code not in OFFERED_LANGUAGES:
            raise BrandingError(f"unknown language {code!r}: offer one or more of "
                                f"{', '.join(OFFERED_LANGUAGES)}")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise BrandingError("offer at least one language")
    return codes


def _validated_texts(texts: dict[str, str]) -> dict[str, str]:
    clean = {}
    for name, value in texts.items():
        if name not in TEXT_LIMITS:
            raise BrandingError(f"unknown setting {name!r}")
        value = " ".join((value or "").split())  # one line, no control characters
        if len(value) > TEXT_LIMITS[name]:
            raise BrandingError(f"{name.replace('_', ' ')} is {len(value)} characters long; "
                                f"the limit is {TEXT_LIMITS[name]}")
        if name == "contact_phone" and value and not CONTACT_PHONE.match(value):
            raise BrandingError(f"contact phone {value!r} is not a phone number (digits, "
                                "spaces, + - and parentheses)")
        if name == "contact_email" and value and not CONTACT_EMAIL.match(value):
            raise BrandingError(f"contact email {value!r} is not an email address")
        clean[name] = value
    return clean


def _snapshot(row: Branding) -> dict:
    return {name: (list(v) if isinstance(v := getattr(row, name), list) else v)
            for name in AUDITED}


def apply_branding(tenant, change: BrandingChange, actor: str) -> dict:
    """Validate and save `change` for `tenant` (a TenantInfo). Returns {setting: (before,
    after)} of what changed. Raises BrandingError, changing nothing, when it is refused."""
    from tenants.context import tenant_context

    texts = _validated_texts(change.texts)
    if change.hero_pattern is not None and change.hero_pattern not in HERO_PATTERNS:
        raise BrandingError(f"unknown hero pattern {change.hero_pattern!r}: use one of "
                            f"{', '.join(HERO_PATTERNS)}")
    primary = normalize_color(change.primary_color, "primary colour") \
        if change.primary_color is not None else None
    accent = normalize_color(change.accent_color, "accent colour") \
        if change.accent_color is not None else None
    if change.default_language is not None and change.default_language not in OFFERED_LANGUAGES:
        raise BrandingError(f"unknown default language {change.default_language!r}: use one "
                            f"of {', '.join(OFFERED_LANGUAGES)}")
    if any(getattr(change, kind) and getattr(change, f"remove_{kind}") for kind in IMAGE_KINDS):
        raise BrandingError("give a new image or remove it, not both")
    wanted = {**_validated_names(change), "locale": change.default_language or tenant.locale}
    if change.timezone is not None:
        wanted["timezone"] = check_timezone(change.timezone)
    platform_changes = {column: (getattr(tenant, column), value)
                        for column, value in wanted.items() if value != getattr(tenant, column)}

    with tenant_context(tenant):
        row = db.session.get(Branding, 1, with_for_update=True)  # one change at a time
        if row is None:
            row = Branding.defaults()
            db.session.add(row)
        before = _snapshot(row)
        final_primary = primary or row.primary_color
        final_accent = accent or row.accent_color
        if primary or accent:
            check_contrast(final_primary, final_accent)
        languages = change.languages if change.languages is not None else list(row.languages)
        default_language = wanted["locale"]
        if default_language not in languages:
            raise BrandingError(
                f"the default language {default_language} must be one of the offered languages "
                f"({', '.join(languages)}): offer it, or change --default-language")

        row.primary_color, row.accent_color = final_primary, final_accent
        row.languages = languages
        if change.hero_pattern is not None:
            row.hero_pattern = change.hero_pattern
        for name, value in texts.items():
            setattr(row, name, value)
        folder = upload_dir(tenant.slug)
        written: list[Path] = []
        for kind in IMAGE_KINDS:
            image, remove = getattr(change, kind), getattr(change, f"remove_{kind}")
            if image is not None:
                setattr(row, f"{kind}_file", image.file_name(kind))
                setattr(row, f"{kind}_content_type", image.content_type)
                setattr(row, f"{kind}_hash", image.digest)
            elif remove:
                for suffix in ("file", "content_type", "hash"):
                    setattr(row, f"{kind}_{suffix}", None)
        after = _snapshot(row)
        changed = {k: (before[k], after[k]) for k in AUDITED if before[k] != after[k]}
        changed.update({PLATFORM_SETTINGS[column]: values
                        for column, values in platform_changes.items()})
        if not changed:
            db.session.rollback()
            return {}
        platform = None
        try:
            for kind in IMAGE_KINDS:
                image = getattr(change, kind)
                if image is not None:
                    path = folder / image.file_name(kind)
                    if not path.exists():
                        write_upload(path, image.data)
                        written.append(path)
            db.session.add(AuditEntry(
                actor=actor, action="branding.update", target="branding",
                before={k: v[0] for k, v in changed.items()},
                after={k: v[1] for k, v in changed.items()}))
            if platform_changes:
                platform = _start_platform_change(tenant, platform_changes, actor)
            db.session.commit()
            if platform is not None:
                platform.commit()
        except Exception as error:
            db.session.rollback()
            if platform is not None:
                platform.rollback()
            for path in written:
                path.unlink(missing_ok=True)
            if isinstance(error, BrandingError):
                raise
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise BrandingError(f"the branding of {tenant.slug} could not be saved: "
                                f"{reason}") from error
        finally:
            if platform is not None:
                platform.connection.close()
        for kind in IMAGE_KINDS:
            old, new = before[f"{kind}_file"], after[f"{kind}_file"]
            if old and old != new:
                (folder / old).unlink(missing_ok=True)
    if platform_changes:
        if "tenant_directory" in current_app.extensions:
            current_app.extensions["tenant_directory"].mark_stale()
    return changed


@dataclass
class _PlatformTransaction:
    connection: sa.Connection
    transaction: sa.RootTransaction

    def commit(self):
        self.transaction.commit()

    def rollback(self):
        if self.transaction.is_active:
            self.transaction.rollback()


def _start_platform_change(tenant, changes: dict[str, tuple], actor: str
                           ) -> _PlatformTransaction:
    """The city's default language, names and time zone are the platform's (the directory
    serves them without a query, and the city's role can't write them): updated on the app's
    own connection in a platform transaction that commits right after the city's own, one
    platform audit entry per setting (`tenant.locale`, `tenant.name` ...)."""
    from tenants.models import PlatformAuditEntry, Tenant

    connection = db.engine.connect()
    transaction = connection.begin()
    try:
        connection.execute(sa.update(Tenant).where(Tenant.slug == tenant.slug)
                           .values({column: after for column, (_, after) in changes.items()}))
        connection.execute(sa.insert(PlatformAuditEntry), [
            {"actor": actor, "action": f"tenant.{column}", "tenant_slug": tenant.slug,
             "detail": {"before": before, "after": after}}
            for column, (before, after) in changes.items()])
    except Exception:
        transaction.rollback()
        connection.close()
        raise
    return _PlatformTransaction(connection, transaction)
