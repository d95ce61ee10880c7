"""Which site a request is for, from its Host header (a port is ignored, a dot at the end too):

- a Host that is not a host name with an optional port number (1-65535) gets 400: such a
  value (`city.example:evil.example`) must never reach a page, a link or a log as the city's;
- the platform host (PLATFORM_HOST) gets the vendor's blueprints;
- a city's domain gets the city's blueprints, bound to that city;
- any other host gets 404, and a suspended city 503, whatever the path (but its staff's
  console, /admin, which says the city is suspended);
- a retired city's hosts get the same 404 as an unknown host: the city has disappeared (its
  data is kept until it is purged, and it may be restored).

Both kinds of site use the same paths ("/" is the platform landing on one and the city's home
on the other), so the URL map holds two rule sets and picks one per request.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from werkzeug.exceptions import BadRequest, NotFound, ServiceUnavailable
from werkzeug.routing import IntegerConverter, Map
from werkzeug.sansio.utils import host_is_trusted

from tenants.context import bind_tenant
from tenants.directory import TenantDirectory, TenantInfo
from tenants.models import RETIRED, SUSPENDED
from tenants.naming import strip_port

# Blueprints served on the platform host only, and endpoints served on every host.
PLATFORM_BLUEPRINTS = frozenset({"platform"})
SITE_INDEPENDENT_ENDPOINTS = frozenset({"static", "health.healthz", "health.readyz"})
# A suspended city's staff still reach their console there (it tells them the city is
# suspended); everything else of the city answers 503.
CITY_CONSOLE_PREFIX = "/admin"


class UnknownSite(NotFound):
    description = "No city answers at this address."


class InvalidHost(BadRequest):
    description = "The Host header is not a host name with an optional port number."


class CitySuspended(ServiceUnavailable):
    description = "This city's services are suspended."


class DatabaseUnavailable(ServiceUnavailable):
    description = "The database cannot be reached for the moment."


@dataclass(frozen=True)
class Site:
    """The site a request is for, resolved once from its Host header and kept in its WSGI
    environ: the URL map, the session cookie, the binding of the city and the pages all use
    this one answer."""

    kind: str  # PLATFORM, CITY, UNKNOWN, INVALID or UNAVAILABLE (the directory can't load)
    tenant: TenantInfo | None = None  # the city (active or suspended) of a CITY site

    @property
    def key(self) -> str:
        """`platform`, `city:<slug>` or `unknown`: what the session cookie is signed for."""
        return f"city:{self.tenant.slug}" if self.kind == CITY else self.kind


PLATFORM, CITY, UNKNOWN, INVALID, UNAVAILABLE = (
    "platform", "city", "unknown", "invalid", "unavailable")
SITE_ENVIRON_KEY = "civiccloud.site"


def site_of(environ: dict, url_map: "AudienceUrlMap") -> Site:
    """The request's site (a retired city's host is no site: it has disappeared)."""
    site = environ.get(SITE_ENVIRON_KEY)
    if site is None:
        raw = environ.get("HTTP_HOST", "")
        host = strip_port(raw)
        # Werkzeug (>= 3.1.9) checks the characters and that a port is a number in 1-65535.
        if raw and not host_is_trusted(raw.strip()):
            site = Site(INVALID)
        elif host == url_map.platform_host:
            site = Site(PLATFORM)
        else:
            try:
                tenant = url_map.directory.lookup_host(host)
            except sa.exc.OperationalError:  # a process's first directory, while it is down
                tenant, site = None, Site(UNAVAILABLE)  # the next request tries again
            else:
                site = Site(CITY, tenant) if tenant and tenant.status != RETIRED else Site(
                    UNKNOWN)
        environ[SITE_ENVIRON_KEY] = site
    return site


def current_site() -> Site:
    return site_of(request.environ, current_app.url_map)


def requested_city() -> TenantInfo | None:
    """The city whose host the current request came to (also a suspended one, which is not
    bound); None outside requests, on the platform's host and on unknown hosts."""
    return current_site().tenant if has_request_context() else None


def is_platform_endpoint(endpoint: str) -> bool:
    return endpoint.split(".", 1)[0] in PLATFORM_BLUEPRINTS


BIGINT_MAX = 2**63 - 1


class BigintConverter(IntegerConverter):
    """`<int:…>` matches only what fits a BIGINT key (every id is one): a larger number is no
    page (404), never a query that PostgreSQL refuses with an error."""

    def __init__(self, map, *args, max=BIGINT_MAX, **kwargs):
        super().__init__(map, *args, max=min(max, BIGINT_MAX), **kwargs)


class AudienceUrlMap(Map):
    """The cities' rules; `platform` holds the platform host's. Site-independent rules are in
    both."""

    default_converters = {**Map.default_converters, "int": BigintConverter}
    platform_host = "localhost"
    directory: TenantDirectory  # set by init_app

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.platform = Map(*args, **kwargs)
        self.platform.converters = self.converters

    def add(self, rulefactory) -> None:
        endpoint = getattr(rulefactory, "endpoint", "") or ""
        if endpoint in SITE_INDEPENDENT_ENDPOINTS:
            self.platform.add(rulefactory.empty())
            super().add(rulefactory)
        elif is_platform_endpoint(endpoint):
            self.platform.add(rulefactory)
        else:
            super().add(rulefactory)

    def rules_for(self, host: str) -> Map:
        """The rule set serving `host` (a host name without port)."""
        return self.platform if host == self.platform_host else self

    def bind_to_environ(self, environ, *args, **kwargs):
        if site_of(environ, self).kind == PLATFORM:
            return self.platform.bind_to_environ(environ, *args, **kwargs)
        return super().bind_to_environ(environ, *args, **kwargs)

    def iter_rules(self, endpoint=None):
        yield from super().iter_rules(endpoint)
        yield from self.platform.iter_rules(endpoint)


def is_city_console_path(path: str) -> bool:
    return path == CITY_CONSOLE_PREFIX or path.startswith(CITY_CONSOLE_PREFIX + "/")


def bind_request_to_site() -> None:
    """before_request: bind the city of the Host header, or refuse the request."""
    site = current_site()
    if site.kind == INVALID:
        raise InvalidHost()
    if site.kind == UNAVAILABLE:
        raise DatabaseUnavailable()
    if request.endpoint in SITE_INDEPENDENT_ENDPOINTS:
        return
    if site.kind == UNKNOWN:
        raise UnknownSite()
    if site.kind == CITY:
        if site.tenant.status == SUSPENDED and not is_city_console_path(request.path):
            raise CitySuspended()
        bind_tenant(site.tenant)


def init_app(app: Flask) -> None:
    if not isinstance(app.url_map, AudienceUrlMap):
        raise TypeError("the app's url_map_class must be AudienceUrlMap")
    app.url_map.platform_host = strip_port(app.config["PLATFORM_HOST"])
    app.url_map.directory = app.extensions["tenant_directory"]
    app.before_request(bind_request_to_site)
