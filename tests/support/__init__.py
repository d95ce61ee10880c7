"""Helpers the tests run: a real OpenID Connect provider (oidc_provider.py)."""
