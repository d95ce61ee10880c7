"""The CivicCloud Flask application: `create_app()` wires extensions, the tenancy layer and the
blueprints of each audience, and does nothing else (no queries, no migrations at start-up)."""
import os

from flask import Flask

from config.settings import ConfigurationError, from_environment, sqlalchemy_url
from tenants.routing import AudienceUrlMap


class CivicFlask(Flask):
    url_map_class = AudienceUrlMap


def _database_url(config: dict) -> str:
    if config.get("DATABASE_URL"):
        return config["DATABASE_URL"]
    if config["CIVIC_ENV"] == "production":
        raise ConfigurationError("DATABASE_URL must be set in production")
    from app import embedded_postgres

    return embedded_postgres.url()


def create_app(test_config: dict | None = None) -> Flask:
    app = CivicFlask(__name__)
    app.config.update(from_environment())
    app.config.update(test_config or {})
    database_url = _database_url(app.config)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(database_url)
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "pool_size": app.config["DB_POOL_SIZE"],
        "max_overflow": app.config["DB_POOL_SIZE"] // 2,
        "pool_pre_ping": True,
    })
    if not app.config["DB_PREPARED_STATEMENTS"]:
        # A server-side prepared statement lives on one server connection, which a pooler in
        # transaction mode may not give this client again.
        engine_options.setdefault("connect_args", {})["prepare_threshold"] = None

    from app import extensions, i18n
    from tenants import cli as tenants_cli
    from tenants import directory, jobs, log_context, routing, sessions

    if not app.config.get("MAIL_OUTBOX_DIR"):
        app.config["MAIL_OUTBOX_DIR"] = os.path.join(app.instance_path, "outbox")
    log_context.init_app(app)
    extensions.init_app(app)
    i18n.init_app(app)
    directory.init_app(app)
    routing.init_app(app)
    sessions.init_app(app)

    from app import demo, models, modules, notifications, oidc, payments  # noqa: F401
    from app.admin import bp as admin_bp
    from app.branding import assets as branding_assets
    from app.branding import cli as branding_cli  # noqa: F401
    from app.citizen import bp as citizen_bp
    from app.modules import cli as modules_cli  # noqa: F401  (flask tenants modules)
    from app.notifications import tasks as notification_tasks  # noqa: F401  (declares jobs)
    from app.oidc import cli as oidc_cli  # noqa: F401
    from app.platform import bp as platform_bp
    from app.web import errors, health, maintenance
    from app.web import headers as security
    from tenants import lifecycle_tasks  # noqa: F401  (declares tenants.purge_retired)

    app.register_blueprint(health.bp)
    app.register_blueprint(branding_assets.bp)
    app.register_blueprint(platform_bp)
    app.register_blueprint(citizen_bp)
    app.register_blueprint(admin_bp)
    modules.init_app(app)
    oidc.init_app(app)
    jobs.init_app(app, database_url)
    notifications.init_app(app)
    payments.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    maintenance.init_app(app)
    tenants_cli.init_app(app)
    app.cli.add_command(demo.demo_command)
    return app
