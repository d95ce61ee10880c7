"""Absolute links, the one way they are made: a link that leaves the site — in mail and SMS
(verification, password reset, invitations, notifications), printed by the CLI, shown to vendor
staff to hand on, given to a payment provider — names the site's stored host (a city's primary
domain, its first; the platform's PLATFORM_HOST) with the configured PUBLIC_SCHEME and
PUBLIC_PORT, never the request's Host header. A browser's round trip that must come back to the
host it is on (a sign-in provider's redirect, which needs this host's cookie) names that host,
which routing has checked is one of the site's own."""
from flask import current_app, g, request
from werkzeug.routing import Map

from tenants.naming import strip_port
from tenants.routing import requested_city


def base_url(host: str) -> str:
    """`scheme://host[:port]` as visitors reach `host`."""
    config = current_app.config
    port = f":{config['PUBLIC_PORT']}" if config.get("PUBLIC_PORT") else ""
    return f"{config['PUBLIC_SCHEME']}://{host}{port}"


def site_host() -> str:
    """The stored host of the site being served: the bound (or requested) city's primary
    domain, else the platform's host."""
    tenant = g.get("tenant") or requested_city()
    return tenant.domains[0] if tenant is not None else strip_port(
        current_app.config["PLATFORM_HOST"])


def request_host() -> str:
    """The host this request came to (already known to be one of its site's domains)."""
    return strip_port(request.host)


def external_url(endpoint: str, host: str | None = None, **values) -> str:
    """The absolute URL of `endpoint` (a full name, "blueprint.view") on `host`, by default
    the site's stored host (site_host); works in requests, commands and jobs alike."""
    host = host or site_host()
    rules: Map = current_app.url_map.rules_for(host)
    netloc = base_url(host).split("://", 1)[1]
    adapter = rules.bind(netloc, url_scheme=current_app.config["PUBLIC_SCHEME"],
                         script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
