"""The CivicCloud Flask application. `create_app()` wires the tenancy layer, the extensions, the
shared concerns and the blueprints of each audience, and does nothing else (no queries, no
migrations at start-up). docs/architecture.md draws the layers and a request's way."""
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import admin, api, citizen, demo, extensions, i18n, modules, notifications, oidc, payments
from app import platform as vendor_site
from app.branding import assets as branding_assets
from app.branding import cli as branding_cli  # noqa: F401  (flask tenants brand)
from app.modules import cli as modules_cli  # noqa: F401  (flask tenants modules)
from app.notifications import tasks as notification_tasks  # noqa: F401  (declares its jobs)
from app.oidc import cli as oidc_cli  # noqa: F401  (flask tenants oidc)
from app.web import errors, headers, health, input_checks, maintenance, metrics, request_log
from app.webhooks import tasks as webhook_tasks  # noqa: F401  (its tables; declares its jobs)
from config.settings import ConfigurationError, from_environment, sqlalchemy_url
from tenants import (
    city_cache,
    directory,
    jobs,
    lifecycle_tasks,  # noqa: F401  (declares tenants.purge_retired)
    log_context,
    routing,
    sessions,
)
from tenants import cli as tenants_cli
from tenants.routing import AudienceUrlMap


class CivicFlask(Flask):
    url_map_class = AudienceUrlMap


def _database_url(config: dict) -> str:
    if config.get("DATABASE_URL"):
        return config["DATABASE_URL"]
    if config["CIVIC_ENV"] == "production":
        raise ConfigurationError("DATABASE_URL must be set in production")
    from app import embedded_postgres  # development only: production never loads pgserver

    return embedded_postgres.url()


def create_app(test_config: dict | None = None) -> Flask:
    app = CivicFlask(__name__)
    # JSON answers and the `tojson` filter (audit logs' before and after) keep Chinese as it
    # is, not as \uXXXX escapes; JSON is UTF-8 either way.
    app.json.ensure_ascii = False
    app.config.update(from_environment())
    app.config.update(test_config or {})
    database_url = _database_url(app.config)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(database_url)
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "pool_size": app.config["DB_POOL_SIZE"],
        "max_overflow": app.config["DB_POOL_SIZE"] // 2,
        # No pre-ping: it cost every checkout a round trip. A connection found dead fails its
        # request (503, app/web/errors.py) and SQLAlchemy then invalidates the whole pool, so
        # the next requests connect afresh (tests/tenants/test_read_transactions.py).
    })
    if not app.config["DB_PREPARED_STATEMENTS"]:
        # A server-side prepared statement lives on one server connection, which a pooler in
        # transaction mode may not give this client again.
        engine_options.setdefault("connect_args", {})["prepare_threshold"] = None
    if not app.config.get("MAIL_OUTBOX_DIR"):
        app.config["MAIL_OUTBOX_DIR"] = os.path.join(app.instance_path, "outbox")

    hops = app.config.get("PROXY_TRUSTED_HOPS", 0)
    if hops:
        # Believe the client address and scheme that the `hops` proxies in front add (the
        # Host header is routed as it comes: a proxy passes it on, a client can't add one).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    # The tenancy layer and the extensions.
    log_context.init_app(app)
    extensions.init_app(app)
    directory.init_app(app)
    city_cache.init_app(app, database_url)
    routing.init_app(app)
    sessions.init_app(app)
    i18n.init_app(app)
    oidc.init_app(app)

    # Each audience's blueprint, the modules' citizen pages, and what every site shares.
    app.register_blueprint(health.bp)
    app.register_blueprint(branding_assets.bp)
    app.register_blueprint(vendor_site.bp)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(admin.bp)  # with the modules' and payments' staff pages
    modules.init_app(app)
    api.init_app(app)  # the REST API at /api/v1/ with the modules' resources, OAuth 2
    payments.init_app(app)
    notifications.init_app(app)
    input_checks.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    maintenance.init_app(app)
    request_log.init_app(app)
    metrics.init_app(app)

    jobs.init_app(app, database_url)  # after every task is declared (imports above)
    tenants_cli.init_app(app)
    app.cli.add_command(demo.demo_command)
    return app
