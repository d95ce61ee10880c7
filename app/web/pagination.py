"""Staff lists shown a page at a time (the links: app/templates/_pagination.html)."""
import sqlalchemy as sa
from flask import request

from app.web.input_checks import BIGINT_MAX, bigint_arg
from tenants.db import db

PAGE_SIZE = 50


def page_of(query: sa.Select, page_size: int = PAGE_SIZE) -> tuple[list, int, bool]:
    """The rows of the page the request asks for (?page=, from 1) of `query`, that page's
    number, and whether another page follows."""
    page = requested_page(page_size)
    rows = db.session.scalars(query.limit(page_size + 1).offset((page - 1) * page_size)).all()
    return rows[:page_size], page, len(rows) > page_size


def requested_page(page_size: int = PAGE_SIZE) -> int:
    """The page number of ?page= (from 1; 1 if it is no number). A page past the last is empty,
    also one so far that its offset would be beyond a BIGINT (it stops at the last possible)."""
    return min(max(request.args.get("page", 1, type=bigint_arg), 1), BIGINT_MAX // page_size)
