from flask import render_template

from app.platform.blueprint import bp
from tenants.context import directory
from tenants.models import ACTIVE


@bp.get("/")
def landing():
    cities = [tenant for tenant in directory().all() if tenant.status == ACTIVE]
    return render_template("platform/landing.html", city_count=len(cities))
