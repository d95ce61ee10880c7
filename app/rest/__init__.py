"""What every JSON endpoint of the REST API (/api/v1/, app/api and the modules' `api_v1`
blueprints) shares:

- errors as RFC 9457 problem documents (`application/problem+json`), titled and explained in
  the client's language (Accept-Language, see app/i18n);
- `ApiBlueprint`: a flask-smorest blueprint (marshmallow schemas in, out and in the OpenAPI
  document) whose paginated lists carry RFC 8288 `Link` headers (first, prev, next, last) and
  `X-Total-Count`, whose GETs may answer 304 to `If-None-Match` (`@blp.etag`), and whose views
  answer problem documents for every refusal.

The API authenticates with bearer tokens only (app/oauth), never cookies, so its blueprints
are exempt from CSRF tokens.
"""
from app.rest.blueprint import ApiBlueprint, IdempotencyKeySchema, page_of
from app.rest.problems import PROBLEM_JSON, Problem, is_api_request, problem_response

__all__ = ["PROBLEM_JSON", "ApiBlueprint", "IdempotencyKeySchema", "Problem",
           "is_api_request", "page_of", "problem_response"]
