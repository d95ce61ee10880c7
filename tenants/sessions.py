"""Session cookies belong to one site: the signing salt names the city of the request's Host
(or the platform), so a cookie made on city A does not verify on city B, even if copied."""
from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface

from tenants.routing import site_of


class CitySessionInterface(SecureCookieSessionInterface):
    @property
    def salt(self) -> str:
        return f"cookie-session:{site_of(request.environ, current_app.url_map).key}"


def init_app(app) -> None:
    app.session_interface = CitySessionInterface()
