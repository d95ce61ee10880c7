"""Flask extensions, created once and bound to the app in `init_app`."""
from flask import current_app, g, has_app_context, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from tenants import db as database


def client_address_key() -> str:
    """Throttling counts per city and client address (behind a proxy, configure ProxyFix)."""
    tenant = g.get("tenant")
    return f"{tenant.slug if tenant else '-'}:{request.remote_addr}"


class _PerApp:
    """A Limiter attribute kept per application (see AppLimiter)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, limiter, owner=None):
        if limiter is None:
            return self
        return limiter.app_state().get(self.name, limiter.defaults.get(self.name))

    def __set__(self, limiter, value):
        limiter.app_state()[self.name] = value


class AppLimiter(Limiter):
    """Flask-Limiter keeps its storage on the Limiter object, which the views' decorators share:
    a second app in the process (two apps sharing one Redis in a test, a production app made by
    a test) would take over the first one's counts. Here the storage, the strategy bound to it
    and the key prefix belong to each app (its `extensions`)."""

    _storage = _PerApp()
    _limiter = _PerApp()
    _key_prefix = _PerApp()
    _storage_dead = _PerApp()

    def __init__(self, *args, **kwargs):
        self.__dict__["defaults"] = {}
        self.__dict__["_initialising"] = None
        super().__init__(*args, **kwargs)

    def app_state(self) -> dict:
        app = self._initialising or (current_app._get_current_object() if has_app_context()
                                     else None)
        return self.defaults if app is None else app.extensions.setdefault("limiter_state", {})

    def init_app(self, app) -> None:
        self.__dict__["_initialising"] = app
        try:
            super().init_app(app)
        finally:
            self.__dict__["_initialising"] = None


babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = AppLimiter(key_func=client_address_key)


def init_app(app) -> None:
    database.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "citizen.login"
    # Lazy, so the flash is translated when the sign-in page shows it, in the page's language.
    login_manager.login_message = _l("Sign in to see this page.")
    login_manager.login_message_category = "info"
