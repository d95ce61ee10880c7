"""The configuration of the tests' app, and more apps like it on the same database (two
processes sharing a Redis, a production configuration, a proxy in front)."""
import contextlib

from app import create_app


def app_config(database_url, outbox_dir, **changes) -> dict:
    return {
        "MAIL_OUTBOX_DIR": str(outbox_dir),
        "CIVIC_ENV": "test",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "PLATFORM_HOST": "platform.test",
        "PUBLIC_PORT": "",
        "TENANT_DIRECTORY_REFRESH_SECONDS": 0.5,
        "SECRET_KEY": "test-secret",
        "CITY_CACHE_SECONDS": 60,  # as in production: changes must reach the pages at once
        # Made on first use: hundreds of test cities would each queue RSA key generation.
        "PAYMENTS_KEYS_AT_PROVISIONING": False,
        **changes,
    }


@contextlib.contextmanager
def another_app(config=None):
    """An app made by create_app (configured by the environment and `config`),
    closed afterwards."""
    app = create_app(config)
    try:
        yield app
    finally:
        app.extensions["tenant_directory"].close()
        app.extensions["city_cache"].close()
        with app.app_context():
            from tenants.db import db

            db.engine.dispose()
