from flask import render_template

from app.citizen import bp


@bp.get("/")
def home():
    return render_template("citizen/home.html")
