"""Settings, read from the environment. Development defaults work with nothing set.

| variable | meaning | default |
|---|---|---|
| CIVIC_ENV | development, test or production | development |
| DATABASE_URL | libpq URI of the PostgreSQL database | the embedded server (not in production) |
| SECRET_KEY | signs cookies and tokens (production: 32 random bytes at least) | development key |
| DATA_ENCRYPTION_KEY | key for secrets stored encrypted (app/crypto.py) | required in production |
| PLATFORM_HOST | host name of the vendor platform site | localhost |
| PUBLIC_SCHEME | scheme of every link that leaves the site (mail, SMS, CLI) | prod: https; http |
| PUBLIC_PORT | port of those links; empty: the scheme's own (80/443) | dev: PORT or 5000 |
| PROXY_TRUSTED_HOPS | proxies in front whose X-Forwarded-For/-Proto are believed | 0 |
| DB_POOL_SIZE | connections per process, shared by all cities | 10 |
| TENANT_DIRECTORY_REFRESH_SECONDS | how often each process checks for city changes | 2 |
| TENANT_MIGRATION_LOCK_TIMEOUT | lock timeout of one city's migration or purge | 5s |
| TENANT_ROLE_LOGIN | create city database roles with LOGIN (needed on Citus) | off |
| TENANT_RETENTION_DAYS | days a retired city's data is kept before it may be purged | 90 |
| EXPORT_RETENTION_DAYS | days a city export archive is kept before a daily job deletes it | 7 |
| EXPORT_SIGNING_KEY | signs city export archives, checked on import (32+ bytes) | prod: required |
| EXPORT_PREVIOUS_SIGNING_KEYS | earlier signing keys, still accepted on import (a,b,…) | |
| EXPORT_MAX_COMPRESSED_BYTES | largest archive file an import opens | 4 GiB |
| EXPORT_MAX_UNCOMPRESSED_BYTES | most bytes an import inflates from one archive | 32 GiB |
| EXPORT_MAX_MEMBERS | most members (files) one archive may hold | 100000 |
| MAIL_BACKEND | outbox (files under MAIL_OUTBOX_DIR and the log) or smtp | outbox |
| MAIL_OUTBOX_DIR | where the outbox sink writes, a folder per city | instance/outbox |
| MAIL_SENDER, MAIL_SMTP_HOST, MAIL_SMTP_PORT | the sender address and the SMTP server | |
| RATELIMIT_STORAGE_URI | where throttling counts: redis://… (required in production) | memory:// |
| JOBS_POOL_SIZE | connections of the job queue's own pool, per process | 4 |
| JOBS_STALLED_AFTER_SECONDS | jobs of a worker silent this long are queued again | 30 |
| JOBS_RECONNECT_MAX_SECONDS | longest wait of a worker between tries to reach its database | 30 |
| NOTIFICATION_MAX_ATTEMPTS, _RETRY_SECONDS | tries, first back-off (doubling) | 5, 60 |
| SMS_BACKEND | outbox (files under instance/outbox and the log) | outbox |
| PAYMENTS_KEYS_AT_PROVISIONING | a job makes a new city's sandbox payment keys, not 1st use | on |
| MAX_CONTENT_LENGTH | largest request body in bytes (413 beyond) | 12 MB |
| DB_PREPARED_STATEMENTS | server-side prepared statements (off behind PgBouncer < 1.21) | on |
| WEBHOOK_RETRY_SECONDS, _RETRY_MAX_SECONDS | first back-off (doubling), longest | 60, 21600 |
| WEBHOOK_MAX_ATTEMPTS, _PAUSE_AFTER_FAILURES | tries per delivery; failures that pause | 12, 10 |
| OUTBOUND_ALLOWED_NETWORKS | private CIDRs outbound calls may reach in production (,) | none |
| OUTBOUND_CONNECT_TIMEOUT, _READ_TIMEOUT | seconds to connect, and to answer | 5, 15 |
| CITY_CACHE_SECONDS | most a process keeps a city's branding, modules, banner; 0: off | 60 |
| LOG_FORMAT | json (one object a line, with city and request id) or text | json |
| METRICS_TOKEN | bearer token of /metrics on the platform host; unset: no /metrics | |
"""
import hashlib
import hmac
import ipaddress
import os

from sqlalchemy.engine import make_url

DEVELOPMENT_SECRET_KEY = "development-only-not-secret"
SECRET_KEY_MIN_BYTES = 32
MAKE_A_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Kept in shared storage in production: per-process counts multiply every limit by the number of
# workers and machines.
SHARED_RATELIMIT_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")
HSTS_SECONDS = 365 * 24 * 3600
# Outside production, with EXPORT_SIGNING_KEY unset, archives are signed with a key derived
# from SECRET_KEY under this label (so it differs from every other use of SECRET_KEY).
EXPORT_KEY_LABEL = b"civiccloud/export-signing-key/development-and-test/v1"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """OUTBOUND_ALLOWED_NETWORKS ("10.1.0.0/16, fd00::/8") as networks; ValueError names the
    first entry that is not a network."""
    networks = []
    for entry in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ValueError(f"{entry!r} is not a network in CIDR notation") from error
    return tuple(networks)


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable configuration."""


def sqlalchemy_url(libpq_uri: str) -> str:
    """Turn a plain libpq URI (postgresql://user:pass@host:port/db, or with ?host=/socket/dir)
    into the SQLAlchemy URL for psycopg 3."""
    try:
        url = make_url(libpq_uri)
    except Exception as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid URI: {error}") from error
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigurationError(
            f"DATABASE_URL must start with postgresql://, not {url.drivername}://"
        )
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def from_environment(environ=os.environ) -> dict:
    env = environ.get("CIVIC_ENV", "development")
    if env not in ("development", "test", "production"):
        raise ConfigurationError(f"CIVIC_ENV must be development, test or production, not {env!r}")
    production = env == "production"
    secret_key = environ.get("SECRET_KEY")
    scheme = environ.get("PUBLIC_SCHEME", "https" if production else "http")
    port = environ.get("PUBLIC_PORT", environ.get("PORT", "5000") if env == "development" else "")
    ratelimit_storage = environ.get("RATELIMIT_STORAGE_URI", "" if production else "memory://")
    if production:
        check_production(secret_key, environ, scheme, ratelimit_storage)
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"PUBLIC_SCHEME must be http or https, not {scheme!r}")
    log_format = environ.get("LOG_FORMAT", "json")
    if log_format not in ("json", "text"):
        raise ConfigurationError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigurationError(f"PUBLIC_PORT must be a port number (1-65535) or empty, "
                                 f"not {port!r}")
    try:
        parse_networks(environ.get("OUTBOUND_ALLOWED_NETWORKS", ""))
    except ValueError as error:
        raise ConfigurationError(f"OUTBOUND_ALLOWED_NETWORKS: {error}") from None
    return {
        "CIVIC_ENV": env,
        "SECRET_KEY": secret_key or DEVELOPMENT_SECRET_KEY,
        "DATABASE_URL": environ.get("DATABASE_URL"),
        "DATA_ENCRYPTION_KEY": environ.get("DATA_ENCRYPTION_KEY"),
        "PLATFORM_HOST": environ.get("PLATFORM_HOST", "localhost"),
        # Links that leave the site (app/web/links.py); `make run` serves on PORT (5000) in
        # development, behind a proxy links have no port.
        "PUBLIC_SCHEME": scheme,
        "PUBLIC_PORT": port,
        "PROXY_TRUSTED_HOPS": int(environ.get("PROXY_TRUSTED_HOPS", "0")),
        "HSTS_SECONDS": HSTS_SECONDS if production else 0,
        "DB_POOL_SIZE": int(environ.get("DB_POOL_SIZE", "10")),
        "TENANT_DIRECTORY_REFRESH_SECONDS": float(
            environ.get("TENANT_DIRECTORY_REFRESH_SECONDS", "2")
        ),
        "TENANT_MIGRATION_LOCK_TIMEOUT": environ.get("TENANT_MIGRATION_LOCK_TIMEOUT", "5s"),
        "TENANT_ROLE_LOGIN": _flag(environ.get("TENANT_ROLE_LOGIN")),
        "TENANT_RETENTION_DAYS": int(environ.get("TENANT_RETENTION_DAYS", "90")),
        "EXPORT_RETENTION_DAYS": int(environ.get("EXPORT_RETENTION_DAYS", "7")),
        "EXPORT_SIGNING_KEY": environ.get("EXPORT_SIGNING_KEY") or development_export_key(
            secret_key or DEVELOPMENT_SECRET_KEY),
        "EXPORT_PREVIOUS_SIGNING_KEYS": previous_export_keys(environ),
        "EXPORT_MAX_COMPRESSED_BYTES": int(environ.get("EXPORT_MAX_COMPRESSED_BYTES",
                                                       str(4 * 1024 ** 3))),
        "EXPORT_MAX_UNCOMPRESSED_BYTES": int(environ.get("EXPORT_MAX_UNCOMPRESSED_BYTES",
                                                         str(32 * 1024 ** 3))),
        "EXPORT_MAX_MEMBERS": int(environ.get("EXPORT_MAX_MEMBERS", "100000")),
        "WEBHOOK_RETRY_SECONDS": float(environ.get("WEBHOOK_RETRY_SECONDS", "60")),
        "WEBHOOK_RETRY_MAX_SECONDS": float(environ.get("WEBHOOK_RETRY_MAX_SECONDS", "21600")),
        "WEBHOOK_MAX_ATTEMPTS": int(environ.get("WEBHOOK_MAX_ATTEMPTS", "12")),
        "WEBHOOK_PAUSE_AFTER_FAILURES": int(environ.get("WEBHOOK_PAUSE_AFTER_FAILURES", "10")),
        "OUTBOUND_ALLOWED_NETWORKS": environ.get("OUTBOUND_ALLOWED_NETWORKS", ""),
        "OUTBOUND_CONNECT_TIMEOUT": float(environ.get("OUTBOUND_CONNECT_TIMEOUT", "5")),
        "OUTBOUND_READ_TIMEOUT": float(environ.get("OUTBOUND_READ_TIMEOUT", "15")),
        "DB_PREPARED_STATEMENTS": _flag(environ.get("DB_PREPARED_STATEMENTS", "on")),
        "LOG_FORMAT": log_format,
        "CITY_CACHE_SECONDS": float(environ.get("CITY_CACHE_SECONDS",
                                                "0" if env == "test" else "60")),
        "METRICS_TOKEN": environ.get("METRICS_TOKEN") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "MAIL_BACKEND": environ.get("MAIL_BACKEND", "outbox"),
        "MAIL_OUTBOX_DIR": environ.get("MAIL_OUTBOX_DIR"),  # default: instance/outbox
        "UPLOAD_DIR": environ.get("UPLOAD_DIR") or None,  # default: instance/uploads
        "MAIL_SENDER": environ.get("MAIL_SENDER", "CivicCloud <no-reply@civiccloud.localhost>"),
        "MAIL_SMTP_HOST": environ.get("MAIL_SMTP_HOST", "localhost"),
        "MAIL_SMTP_PORT": int(environ.get("MAIL_SMTP_PORT", "25")),
        "JOBS_POOL_SIZE": int(environ.get("JOBS_POOL_SIZE", "4")),
        "JOBS_STALLED_AFTER_SECONDS": float(environ.get("JOBS_STALLED_AFTER_SECONDS", "30")),
        "JOBS_RECONNECT_MAX_SECONDS": float(environ.get("JOBS_RECONNECT_MAX_SECONDS", "30")),
        "NOTIFICATION_MAX_ATTEMPTS": int(environ.get("NOTIFICATION_MAX_ATTEMPTS", "5")),
        "NOTIFICATION_RETRY_SECONDS": float(environ.get("NOTIFICATION_RETRY_SECONDS", "60")),
        "SMS_BACKEND": environ.get("SMS_BACKEND", "outbox"),
        "PAYMENTS_KEYS_AT_PROVISIONING": _flag(environ.get("PAYMENTS_KEYS_AT_PROVISIONING", "on")),
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "RATELIMIT_HEADERS_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # The largest upload a form takes is 10 MB (a CSV of fines); a bigger body gets 413
        # before anything reads it.
        "MAX_CONTENT_LENGTH": int(environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "zh_Hans",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    }


def previous_export_keys(environ) -> tuple[str, ...]:
    """EXPORT_PREVIOUS_SIGNING_KEYS: after EXPORT_SIGNING_KEY is replaced, the keys that
    signed archives still kept, which imports go on accepting (the new key signs)."""
    return tuple(key.strip() for key in environ.get("EXPORT_PREVIOUS_SIGNING_KEYS", "").split(",")
                 if key.strip())


def development_export_key(secret_key: str) -> str:
    """The export signing key outside production when EXPORT_SIGNING_KEY is unset: only as
    secret as SECRET_KEY, which is why production does not accept it."""
    return hmac.new(secret_key.encode(), EXPORT_KEY_LABEL, hashlib.sha256).hexdigest()


def check_production(secret_key: str | None, environ, scheme: str, ratelimit_storage: str) -> None:
    """What production refuses to start without: each message says what to set."""
    if not secret_key:
        raise ConfigurationError(
            f"SECRET_KEY must be set in production; make one with {MAKE_A_SECRET_KEY}")
    if secret_key == DEVELOPMENT_SECRET_KEY:
        raise ConfigurationError(
            "SECRET_KEY is the development key, which is public; make a new one with "
            f"{MAKE_A_SECRET_KEY}")
    if len(secret_key.encode()) < SECRET_KEY_MIN_BYTES:
        raise ConfigurationError(
            f"SECRET_KEY is shorter than {SECRET_KEY_MIN_BYTES} bytes; make a longer random one "
            f"with {MAKE_A_SECRET_KEY}")
    if not environ.get("DATABASE_URL"):
        raise ConfigurationError("DATABASE_URL must be set in production")
    if not environ.get("DATA_ENCRYPTION_KEY"):
        raise ConfigurationError("DATA_ENCRYPTION_KEY must be set in production")
    export_key = environ.get("EXPORT_SIGNING_KEY") or ""
    if len(export_key.encode()) < SECRET_KEY_MIN_BYTES:
        raise ConfigurationError(
            f"EXPORT_SIGNING_KEY must be set in production, {SECRET_KEY_MIN_BYTES} bytes at "
            f"least (it signs city archives; an import needs the key that signed the archive); "
            f"make one with {MAKE_A_SECRET_KEY}")
    if export_key == secret_key:
        raise ConfigurationError("EXPORT_SIGNING_KEY must differ from SECRET_KEY: make another "
                                 f"one with {MAKE_A_SECRET_KEY}")
    for number, key in enumerate(previous_export_keys(environ), start=1):
        if len(key.encode()) < SECRET_KEY_MIN_BYTES or key == secret_key:
            raise ConfigurationError(
                f"EXPORT_PREVIOUS_SIGNING_KEYS: key {number} is shorter than "
                f"{SECRET_KEY_MIN_BYTES} bytes or is SECRET_KEY; list only keys that were "
                "EXPORT_SIGNING_KEY before")
    if scheme != "https":
        raise ConfigurationError("PUBLIC_SCHEME must be https in production: links in mail and "
                                 "SMS must not travel in clear")
    if not ratelimit_storage.startswith(SHARED_RATELIMIT_SCHEMES):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI must name a Redis server in production (such as "
            "redis://127.0.0.1:6379/0): with memory:// every worker process keeps counts of its "
            f"own, which multiplies every limit; got {ratelimit_storage or 'nothing'!r}")
