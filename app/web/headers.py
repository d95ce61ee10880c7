"""Response headers every page gets. Pages have no inline scripts or styles and load nothing
from another host, so the policy can forbid all of that. City sites run no script at all; the
administration console (/admin) runs the app's own script files (app/static/js/), never inline
code or eval."""
from flask import current_app, request

from tenants.routing import is_city_console_path

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'; img-src 'self' data:"
)


ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'none'", "script-src 'self'")


def _secure_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", ADMIN_CONTENT_SECURITY_POLICY
                       if is_city_console_path(request.path) else CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config.get("HSTS_SECONDS"):  # production: browsers then never use http://
        headers.setdefault("Strict-Transport-Security",
                           f"max-age={current_app.config['HSTS_SECONDS']}")
    return response


def init_app(app) -> None:
    app.after_request(_secure_headers)
