"""The citizen site's blueprint, `citizen`."""
from flask import Blueprint

bp = Blueprint("citizen", __name__)
