"""The API's documentation page on the city's host, rendered on the server from the OpenAPI
document (no script, no asset from another host): each operation with its parameters,
scopes and responses."""
from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")
METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict) -> list[dict]:
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            scopes = [scope for requirement in operation.get("security", [])
                      for scope in requirement.get("oauth2", [])]
            operations.append({
                "method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                "description": operation.get("description", ""), "scopes": scopes,
                "parameters": [*item.get("parameters", []), *operation.get("parameters", [])],
                "responses": sorted(operation.get("responses", {}).items()),
                "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
            })
    return operations


@bp.route("/docs")
def documentation():
    spec = current_app.extensions["city_api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec, operations=_operations(spec))
