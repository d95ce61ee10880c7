"""GET /healthz on every host: 200 when the database answers, 503 when it doesn't."""
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from tenants.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
