"""The city's privacy notice (/privacy): its current version, in the page's language, linked
from every footer and from the registration form's consent box."""
from flask import render_template

from app.citizen.blueprint import bp
from app.privacy.notice import current_notice


@bp.get("/privacy")
def privacy():
    return render_template("citizen/privacy.html", notice=current_notice())
