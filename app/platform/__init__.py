"""The vendor's site, on PLATFORM_HOST: the landing page today, the platform console later."""
from flask import Blueprint

bp = Blueprint("platform", __name__)

from app.platform import views  # noqa: E402,F401  (registers the routes)
