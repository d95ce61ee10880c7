"""A city's look: its colours, logo, tab icon, hero image, contact details and languages.

- models.py   the `branding` row of the city's schema (one row; defaults when none)
- colours.py  the colour contrast checks (WCAG 2.2 AA)
- change.py   validating and saving a change, from the console, the CLI or the demo
- assets.py   the versioned asset URLs and routes: logo, hero, tab icon, theme style sheet
- cli.py      `flask tenants brand`

Reading the bound city's branding is here: once per request or command.
"""
import hashlib

import sqlalchemy as sa
from flask import g, has_app_context

from app.branding.models import OFFERED_LANGUAGES, Branding
from tenants.city_cache import cached, reading_request, watch
from tenants.db import db

watch(Branding.__tablename__)


class BrandingError(ValueError):
    """A branding change was refused; the message says why. Nothing was changed."""


def _shared_branding() -> Branding:
    """The branding row, out of the session: every GET of this process shares it (city cache)."""
    branding = Branding.current()
    if branding in db.session:
        db.session.expunge(branding)
    return branding


def current_branding() -> Branding:
    """The bound city's branding, read once per request or command (g.branding), by a GET from
    the city cache (tenants/city_cache.py: never change it there). If the database fails (an
    error page is being rendered for that failure), the defaults."""
    if "branding" not in g:
        try:
            g.branding = (cached("branding", _shared_branding) if reading_request()
                          else Branding.current())
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            g.branding = Branding.defaults()
    return g.branding


def offered_languages() -> list[str]:
    """The bound city's languages, in the order the city gave them (both when none is bound)."""
    if not has_app_context() or g.get("tenant") is None:
        return list(OFFERED_LANGUAGES)
    return [code for code in current_branding().languages if code in OFFERED_LANGUAGES] or \
        list(OFFERED_LANGUAGES)


def version_of(*parts) -> str:
    """A short hash of what an asset is made from: part of its URL, so it caches safely."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12]


def theme_version(branding: Branding) -> str:
    return version_of(branding.primary_color, branding.accent_color, branding.hero_pattern,
                      branding.hero_hash or "")
