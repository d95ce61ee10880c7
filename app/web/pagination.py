"""Staff lists shown a page at a time (the links: app/templates/_pagination.html)."""
import sqlalchemy as sa
from flask import request

from tenants.db import db

PAGE_SIZE = 50


def page_of(query: sa.Select, page_size: int = PAGE_SIZE) -> tuple[list, int, bool]:
    """The rows of the page the request asks for (?page=, from 1) of `query`, that page's
    number, and whether another page follows."""
    page = max(request.args.get("page", 1, type=int), 1)
    rows = db.session.scalars(query.limit(page_size + 1).offset((page - 1) * page_size)).all()
    return rows[:page_size], page, len(rows) > page_size
