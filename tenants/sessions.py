"""Session cookies belong to one site: the signing salt names the city of the request's Host
(or the platform), so a cookie made on city A does not verify on city B, even if copied."""
from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface

from tenants.naming import strip_port


def site_key() -> str:
    """`city:<slug>`, `platform`, or `unknown` for the current request's host."""
    host = request.host
    if strip_port(host) == current_app.url_map.platform_host:
        return "platform"
    tenant = current_app.extensions["tenant_directory"].lookup_host(host)
    return f"city:{tenant.slug}" if tenant is not None else "unknown"


class CitySessionInterface(SecureCookieSessionInterface):
    @property
    def salt(self) -> str:
        return f"cookie-session:{site_key()}"


def init_app(app) -> None:
    app.session_interface = CitySessionInterface()
