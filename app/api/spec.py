"""The OpenAPI 3.1 document of /api/v1/ (flask-smorest) and its problem-document errors."""
import http

import marshmallow as ma
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from app.oauth.scopes import ALL_SCOPES
from app.rest import PROBLEM_JSON


class ProblemRowSchema(ma.Schema):
    line = ma.fields.Integer(required=True, metadata={"description": "1 is the header; 0 the "
                                                                     "file as a whole"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with the extension members some problems add."""

    class Meta:
        unknown = ma.INCLUDE  # RFC 9457 section 3.2: extension members
    type = ma.fields.String(required=True, metadata={"description": "A URI naming the problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Invalid input: {location: {field: "
                                                     "[messages]}}"})
    row_errors = ma.fields.List(ma.fields.Nested(ProblemRowSchema), metadata={
        "description": "A refused CSV file: each wrong row and why"})


class CityApi(Api):
    """flask-smorest's Api with problem documents as every error response, and no
    application-wide error handler (the site's pages keep theirs; app/rest answers for the
    API)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem document (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def configure(app) -> None:
    app.config.update({
        "API_TITLE": "CivicCloud city API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": "The REST API of a CivicCloud city, on the city's own "
                                    "host. Sign in with OAuth 2 (docs/api.md)."},
            "servers": [{"url": "/", "description": "this city's host"}],
            "components": {"securitySchemes": {"oauth2": {
                "type": "oauth2",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/api/v1/oauth/authorize",
                        "tokenUrl": "/api/v1/oauth/token",
                        "refreshUrl": "/api/v1/oauth/token",
                        "scopes": {scope: str(text) for scope, text in ALL_SCOPES.items()}},
                    "clientCredentials": {
                        "tokenUrl": "/api/v1/oauth/token",
                        "scopes": {scope: str(text) for scope, text in ALL_SCOPES.items()
                                   if scope.startswith("staff:")}},
                }}}},
        },
    })
