"""The flask-smorest blueprint of every API resource: problem documents for every refusal,
Link-header pagination, and a helper that pages a query."""
from urllib.parse import urlencode

import marshmallow as ma
import sqlalchemy as sa
from flask import request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.rest.problems import problem_response
from tenants.db import db

LINK_HEADER = {
    "description": "RFC 8288 links to the first, previous, next and last pages",
    "schema": {"type": "string"},
}
TOTAL_HEADER = {"description": "How many items all pages hold", "schema": {"type": "integer"}}


def _page_link(page: int, page_size: int, relation: str) -> str:
    args = request.args.to_dict(flat=False)
    args.update(page=[str(page)], page_size=[str(page_size)])
    return f'<{request.path}?{urlencode(args, doseq=True)}>; rel="{relation}"'


class ApiBlueprint(Blueprint):
    """A resource of the API. `@blp.paginate()` views receive `pagination_parameters` and
    return `page_of(query, pagination_parameters)`; the response then carries `Link` and
    `X-Total-Count` instead of flask-smorest's X-Pagination."""

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_error_handler(HTTPException, self._problem)

    @staticmethod
    def _problem(error: HTTPException):
        if error.code is not None and error.code < 400:  # 304 Not Modified (ETag)
            return error.get_response()
        db.session.rollback()
        return problem_response(error)

    def _set_pagination_metadata(self, page_params, result, headers):
        headers = headers or {}
        total, size, page = page_params.item_count, page_params.page_size, page_params.page
        last = max((total - 1) // size + 1, 1)
        links = [_page_link(1, size, "first"), _page_link(last, size, "last")]
        if page > 1:
            links.append(_page_link(min(page - 1, last), size, "prev"))
        if page < last:
            links.append(_page_link(page + 1, size, "next"))
        headers["Link"] = ", ".join(links)
        headers["X-Total-Count"] = str(total)
        return result, headers

    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {}).update(
            {"Link": LINK_HEADER, "X-Total-Count": TOTAL_HEADER})


def page_of(query: sa.Select, page_params) -> list:
    """The rows of the requested page of `query` (ordered by the caller), counting them all
    for the links."""
    page_params.item_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    if page_params.first_item >= page_params.item_count:
        return []  # past the end (a page number too large for an offset: found by schemathesis)
    return db.session.scalars(query.limit(page_params.page_size)
                              .offset(page_params.first_item)).all()


class IdempotencyKeySchema(ma.Schema):
    """The `Idempotency-Key` header of a POST that creates something: the same key again
    answers what the first request made, creating nothing more (as the pages' hidden form
    keys do)."""
    idempotency_key = ma.fields.String(
        required=True, data_key="Idempotency-Key", validate=ma.validate.Length(min=16, max=64),
        metadata={"description": "A random string of 16 to 64 characters, one per thing to "
                                 "create; send it again when retrying."})
