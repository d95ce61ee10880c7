"""The API audience: the REST API of each city's host at /api/v1/ (docs/api.md), for the
city's own apps and back offices.

- oauth.py      the OAuth 2 endpoints and the consent page (the server: app/oauth)
- resources.py  the citizen's profile and notifications, the public catalogue
- docs.py       the documentation page, rendered from the OpenAPI document
- spec.py       the OpenAPI 3.1 document (flask-smorest) and its problem documents

Each module brings its own resources (`Module.api_v1`, in its api.py, and the staff's
`Module.staff_api_v1`), mounted here and answering 404 where the city has not enabled the
module; so does the payments package (app/payments/api.py: every module's payments and
receipts; app/payments/staff_api.py: the staff's). Nothing imports this package but
create_app."""
from app import modules
from app.api import docs, oauth, resources, spec
from app.extensions import csrf
from app.oauth import server as oauth_server
from app.payments import api as payments_api
from app.payments import staff_api as payments_staff_api


def init_app(app) -> None:
    oauth_server.init_app(app)
    spec.configure(app)
    api = spec.CityApi(app)
    blueprints = [*resources.BLUEPRINTS, payments_api.bp, payments_staff_api.bp, *(
        blueprint for module in modules.discover().values()
        for blueprint in (module.api_v1, module.staff_api_v1) if blueprint)]
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # bearer tokens only: no cookie to forge a request with
        api.register_blueprint(blueprint)
        # After the blueprint's own checks (a module not enabled is 404), on this app only.
        app.before_request_funcs.setdefault(blueprint.name, []).append(
            oauth_server.check_token_first)
    app.register_blueprint(oauth.bp)
    csrf.exempt(oauth.issue_token)
    csrf.exempt(oauth.revoke_token)
    app.register_blueprint(docs.bp)
    app.extensions["city_api"] = api
