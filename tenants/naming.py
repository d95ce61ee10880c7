"""Names: validated before any SQL, so schema and role names are safe to interpolate."""
import re

SLUG_MAX_LENGTH = 40
# Lowercase letters, digits and single hyphens; starts with a letter, ends with a letter or digit.
SLUG_PATTERN = re.compile(rf"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){{1,{SLUG_MAX_LENGTH - 1}}}$")
RESERVED_SLUGS = frozenset({"admin", "api", "platform", "public", "static", "www"})

SCHEMA_PREFIX = "city_"
# PostgreSQL identifiers are at most 63 bytes; role names are `civic_<database oid>_<slug>`.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidName(ValueError):
    """A slug or host name that can't be used; the message says what to fix."""


def validate_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise InvalidName(
            f"invalid slug {slug!r}: use 2 to {SLUG_MAX_LENGTH} lowercase letters, digits and "
            "single hyphens, starting with a letter and not ending with a hyphen"
        )
    if slug in RESERVED_SLUGS:
        raise InvalidName(f"the slug {slug!r} is reserved; choose another")
    return slug


def schema_name(slug: str) -> str:
    """The city's schema: `city_` and the slug with hyphens as underscores (slugs have no
    underscores, so two slugs never share a schema)."""
    return SCHEMA_PREFIX + validate_slug(slug).replace("-", "_")


def role_prefix(database_oid: int) -> str:
    """Roles are cluster-wide while schemas are per database: the database's OID in the role
    name keeps two databases on one server (staging, parallel test runs) apart."""
    return f"civic_{int(database_oid)}_"


def role_name(database_oid: int, slug: str) -> str:
    return role_prefix(database_oid) + validate_slug(slug).replace("-", "_")


def cities_role_name(database_oid: int) -> str:
    """The group every city role of the database belongs to; it holds what all of them may use
    outside their schemas (docs/security.md). Slugs never give two underscores in a row, so no
    city's role can take this name."""
    return role_prefix(database_oid) + "_cities"


def strip_port(host: str) -> str:
    """`Lishui.Example.gov.:5000` -> `lishui.example.gov`: no port, no dot at the end (the
    same host to DNS), lowercase (IPv6 literals keep their brackets)."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return (host.rsplit(":", 1)[0] if ":" in host else host).rstrip(".")


def normalize_domain(domain: str) -> str:
    """A city's domain as stored: lowercase ASCII (IDNA), no port, no dot at the end."""
    raw = (domain or "").strip().rstrip(".")
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise InvalidName(f"invalid domain {domain!r}: {error}") from error
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise InvalidName(
            f"invalid domain {domain!r}: give a host name such as lishui.example.gov, "
            "without scheme, port or path"
        )
    return host
