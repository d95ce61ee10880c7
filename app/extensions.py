"""Flask extensions, created once and bound to the app in `init_app`."""
from flask_babel import Babel

from tenants.db import db

babel = Babel()


def init_app(app) -> None:
    db.init_app(app)
