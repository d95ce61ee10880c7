from flask import render_template

from app.platform.blueprint import bp
from app.web.metrics import exposition
from tenants.context import directory
from tenants.models import ACTIVE


@bp.get("/")
def landing():
    cities = [tenant for tenant in directory().all() if tenant.status == ACTIVE]
    return render_template("platform/landing.html", city_count=len(cities))


@bp.get("/metrics")
def metrics():
    """Prometheus' scrape (app/web/metrics.py), on the platform host only."""
    return exposition()
