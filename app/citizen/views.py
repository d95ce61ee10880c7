from flask import render_template
from flask_babel import get_locale

from app.citizen import bp
from app.models import Branding
from tenants.context import current_tenant


@bp.get("/")
def home():
    tenant = current_tenant()
    branding = Branding.current()
    locale = get_locale()
    return render_template(
        "citizen/home.html",
        tenant=tenant,
        branding=branding,
        city_name=tenant.display_name(locale),
        tagline=branding.tagline_for(locale),
    )
