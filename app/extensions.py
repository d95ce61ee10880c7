"""Flask extensions, created once and bound to the app in `init_app`."""
from flask import g, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from tenants.db import db


def client_address_key() -> str:
    """Throttling counts per city and client address (behind a proxy, configure ProxyFix)."""
    tenant = g.get("tenant")
    return f"{tenant.slug if tenant else '-'}:{request.remote_addr}"


babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_address_key)


def init_app(app) -> None:
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "citizen.login"
