"""Helpers the tests run: a real OpenID Connect provider (oidc_provider.py); a city's requests,
forms, settings and audit log (cities.py), its staff and citizens (accounts.py); signing in to
either console with a second factor (consoles.py); small images to upload (images.py)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository's root folder
