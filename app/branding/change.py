"""Changing a city's branding, from the console, the CLI or the demo: the whole change is
validated before anything is written; the city's row and its audit entry commit together with
the platform's part (names, default language, time zone: tenants.provisioning.changing_profile);
image files are content-addressed and written before the commit, and removed again if the
commit fails, so a refused or failed change leaves nothing behind."""
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from app.audit import record
from app.branding import BrandingError
from app.branding.colours import check_contrast, normalize_color
from app.branding.models import HERO_PATTERNS, OFFERED_LANGUAGES, Branding
from app.images import Image
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import changing_profile
from tenants.uploads import upload_dir, write_upload

LOGO_MAX_BYTES = 512 * 1024
HERO_MAX_BYTES = 2 * 1024 * 1024
IMAGE_LIMITS = {"logo": LOGO_MAX_BYTES, "favicon": LOGO_MAX_BYTES, "hero": HERO_MAX_BYTES}
UPLOAD_AREA = "branding"
TEXT_LIMITS = {
    "tagline": 200, "tagline_zh": 200, "contact_address": 300, "contact_address_zh": 300,
    "contact_phone": 40, "contact_email": 254, "opening_hours": 200, "opening_hours_zh": 200,
    "icp_filing": 50,
}
CONTACT_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,38}$")
CONTACT_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}$")
# A filing (备) or licence (证) number such as 浙ICP备12345678号-1.
ICP_FILING = re.compile(r"^[\u4e00-\u9fff]ICP[备证]\d{4,12}号(-\d{1,4})?$")
IMAGE_KINDS = tuple(IMAGE_LIMITS)
AUDITED = ("primary_color", "accent_color", "hero_pattern", "languages", *TEXT_LIMITS,
           *(f"{kind}_{part}" for kind in IMAGE_KINDS for part in ("file", "content_type",
                                                                   "hash")))
NAME_MAX = 200  # platform.tenants.name and name_zh
# The platform's columns of a city's profile, by the name a change reports.
PROFILE_SETTINGS = {"locale": "default_language", "name": "name", "name_zh": "name_zh",
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


def branding_folder(slug: str) -> Path:
    return upload_dir(slug, UPLOAD_AREA)


def check_timezone(name: str) -> str:
    """An IANA time zone name such as Asia/Shanghai, else BrandingError."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BrandingError(f"unknown time zone {name!r}: use an IANA name such as "
                            "Asia/Shanghai") from None
    return name


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
        if name == "icp_filing" and value and not ICP_FILING.match(value):
            raise BrandingError(f"ICP filing number {value!r} is not one such as "
                                "浙ICP备12345678号-1")
        clean[name] = value
    return clean


def _profile_changes(tenant, change: BrandingChange) -> dict[str, tuple]:
    """{column: (before, after)} of the platform's part of the change."""
    if change.default_language is not None and change.default_language not in OFFERED_LANGUAGES:
        raise BrandingError(f"unknown default language {change.default_language!r}: use one "
                            f"of {', '.join(OFFERED_LANGUAGES)}")
    wanted = {**_validated_names(change), "locale": change.default_language or tenant.locale}
    if change.timezone is not None:
        wanted["timezone"] = check_timezone(change.timezone)
    return {column: (getattr(tenant, column), value)
            for column, value in wanted.items() if value != getattr(tenant, column)}


def _apply_to_row(row: Branding, change: BrandingChange, texts: dict[str, str],
                  default_language: str) -> None:
    """Put the change into the city's (locked) row, checking what depends on the row."""
    primary = normalize_color(change.primary_color, "primary colour") \
        if change.primary_color is not None else None
    accent = normalize_color(change.accent_color, "accent colour") \
        if change.accent_color is not None else None
    if primary or accent:
        check_contrast(primary or row.primary_color, accent or row.accent_color)
    languages = change.languages if change.languages is not None else list(row.languages)
    if default_language not in languages:
        raise BrandingError(
            f"the default language {default_language} must be one of the offered languages "
            f"({', '.join(languages)}): offer it, or change --default-language")
    row.primary_color, row.accent_color = primary or row.primary_color, accent or row.accent_color
    row.languages = languages
    if change.hero_pattern is not None:
        row.hero_pattern = change.hero_pattern
    for name, value in texts.items():
        setattr(row, name, value)
    for kind in IMAGE_KINDS:
        image, remove = getattr(change, kind), getattr(change, f"remove_{kind}")
        if image is not None:
            setattr(row, f"{kind}_file", image.file_name(kind))
            setattr(row, f"{kind}_content_type", image.content_type)
            setattr(row, f"{kind}_hash", image.digest)
        elif remove:
            for suffix in ("file", "content_type", "hash"):
                setattr(row, f"{kind}_{suffix}", None)


def _snapshot(row: Branding) -> dict:
    return {name: (list(v) if isinstance(v := getattr(row, name), list) else v)
            for name in AUDITED}


def _write_images(folder: Path, change: BrandingChange) -> list[Path]:
    """The new image files, written before the commit; returns those it made."""
    written = []
    for kind in IMAGE_KINDS:
        image = getattr(change, kind)
        if image is not None:
            path = folder / image.file_name(kind)
            if not path.exists():
                write_upload(path, image.data)
                written.append(path)
    return written


def apply_branding(tenant, change: BrandingChange, actor: str) -> dict:
    """Validate and save `change` for `tenant` (a TenantInfo). Returns {setting: (before,
    after)} of what changed. Raises BrandingError, changing nothing, when it is refused."""
    texts = _validated_texts(change.texts)
    if change.hero_pattern is not None and change.hero_pattern not in HERO_PATTERNS:
        raise BrandingError(f"unknown hero pattern {change.hero_pattern!r}: use one of "
                            f"{', '.join(HERO_PATTERNS)}")
    if any(getattr(change, kind) and getattr(change, f"remove_{kind}") for kind in IMAGE_KINDS):
        raise BrandingError("give a new image or remove it, not both")
    profile = _profile_changes(tenant, change)
    default_language = profile.get("locale", (None, tenant.locale))[1]

    with tenant_context(tenant):
        row = db.session.get(Branding, 1, with_for_update=True)  # one change at a time
        if row is None:
            row = Branding.defaults()
            db.session.add(row)
        before = _snapshot(row)
        _apply_to_row(row, change, texts, default_language)
        after = _snapshot(row)
        changed = {k: (before[k], after[k]) for k in AUDITED if before[k] != after[k]}
        changed.update({PROFILE_SETTINGS[column]: values for column, values in profile.items()})
        if not changed:
            db.session.rollback()
            return {}
        folder = branding_folder(tenant.slug)
        written: list[Path] = []
        try:
            written = _write_images(folder, change)
            record(actor, "branding.update", "branding",
                   {k: v[0] for k, v in changed.items()}, {k: v[1] for k, v in changed.items()})
            with changing_profile(tenant.slug, profile, actor):
                db.session.commit()
        except Exception as error:
            db.session.rollback()
            for path in written:
                path.unlink(missing_ok=True)
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise BrandingError(f"the branding of {tenant.slug} could not be saved: "
                                f"{reason}") from error
    for kind in IMAGE_KINDS:
        old, new = before[f"{kind}_file"], after[f"{kind}_file"]
        if old and old != new:
            (folder / old).unlink(missing_ok=True)
    return changed
