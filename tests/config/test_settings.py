"""Production refuses to start with a secret key anyone could know or guess."""
import pytest

from app import create_app
from config.settings import DEVELOPMENT_SECRET_KEY, ConfigurationError, from_environment
from tenants.uploads import upload_dir

PRODUCTION = {"CIVIC_ENV": "production", "DATABASE_URL": "postgresql://x@db/civic",
              "DATA_ENCRYPTION_KEY": "k" * 43 + "=", "RATELIMIT_STORAGE_URI": "redis://r:6379/0",
              "EXPORT_SIGNING_KEY": "e" * 32}


@pytest.mark.parametrize(("key", "problem"), [
    (None, "SECRET_KEY must be set"),
    ("", "SECRET_KEY must be set"),
    (DEVELOPMENT_SECRET_KEY, "the development key"),
    ("x" * 31, "shorter than 32 bytes"),
])
def test_production_refuses_a_missing_known_or_short_secret_key(key, problem):
    environ = dict(PRODUCTION, **({"SECRET_KEY": key} if key is not None else {}))
    with pytest.raises(ConfigurationError, match=problem) as refused:
        from_environment(environ)
    assert "secrets.token_urlsafe" in str(refused.value)  # how to make one


def test_production_takes_a_long_random_key_and_development_needs_none():
    assert from_environment(dict(PRODUCTION, SECRET_KEY="s" * 32))["SECRET_KEY"] == "s" * 32
    assert from_environment({})["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY
    assert from_environment({})["PUBLIC_SCHEME"] == "http"
    assert from_environment(dict(PRODUCTION, SECRET_KEY="s" * 32))["PUBLIC_SCHEME"] == "https"


@pytest.mark.parametrize(("key", "problem"), [
    (None, "EXPORT_SIGNING_KEY must be set in production"),
    ("e" * 31, "EXPORT_SIGNING_KEY must be set in production, 32 bytes at least"),
    ("s" * 32, "EXPORT_SIGNING_KEY must differ from SECRET_KEY"),
])
def test_production_refuses_a_missing_short_or_reused_export_signing_key(key, problem):
    environ = {**PRODUCTION, "SECRET_KEY": "s" * 32, "EXPORT_SIGNING_KEY": key}
    if key is None:
        del environ["EXPORT_SIGNING_KEY"]
    with pytest.raises(ConfigurationError, match=problem) as refused:
        from_environment(environ)
    assert "secrets.token_urlsafe" in str(refused.value)


def test_development_derives_an_export_signing_key_from_the_secret_key():
    derived = from_environment({})["EXPORT_SIGNING_KEY"]
    assert derived == from_environment({})["EXPORT_SIGNING_KEY"] != DEVELOPMENT_SECRET_KEY
    assert from_environment({"SECRET_KEY": "other"})["EXPORT_SIGNING_KEY"] != derived
    assert from_environment({"EXPORT_SIGNING_KEY": "set"})["EXPORT_SIGNING_KEY"] == "set"
    assert from_environment(dict(PRODUCTION, SECRET_KEY="s" * 32))[
        "EXPORT_SIGNING_KEY"] == "e" * 32


def test_the_uploads_folder_may_be_named_by_the_environment(tmp_path, monkeypatch, database_url):
    assert from_environment({})["UPLOAD_DIR"] is None  # instance/uploads
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path))
    app = create_app({"DATABASE_URL": database_url})
    with app.app_context():
        assert upload_dir("lishui", "passports") == tmp_path / "lishui" / "passports"


def test_previous_export_keys_are_listed_and_checked_like_the_current_one():
    environ = {**PRODUCTION, "SECRET_KEY": "s" * 32}
    listed = {**environ, "EXPORT_PREVIOUS_SIGNING_KEYS": f" {'a' * 32}, {'b' * 32} ,"}
    assert from_environment(listed)["EXPORT_PREVIOUS_SIGNING_KEYS"] == ("a" * 32, "b" * 32)
    assert from_environment(environ)["EXPORT_PREVIOUS_SIGNING_KEYS"] == ()
    for weak in ("a" * 31, "s" * 32):
        with pytest.raises(ConfigurationError, match="EXPORT_PREVIOUS_SIGNING_KEYS: key 2"):
            from_environment({**environ, "EXPORT_PREVIOUS_SIGNING_KEYS": f"{'a' * 32},{weak}"})
