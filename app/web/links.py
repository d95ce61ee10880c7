"""Links made outside a request (the CLI, the platform console acting for a city): absolute
URLs for a given host, with the public scheme and port (PREFERRED_URL_SCHEME, PUBLIC_PORT)."""
from flask import current_app


def base_url(host: str) -> str:
    """`scheme://host[:port]` as visitors reach `host`."""
    config = current_app.config
    scheme = config.get("PREFERRED_URL_SCHEME") or "http"
    port = f":{config['PUBLIC_PORT']}" if config.get("PUBLIC_PORT") else ""
    return f"{scheme}://{host}{port}"


def outside_request(host: str):
    """A request context whose url_for(..., _external=True) points at `host`."""
    return current_app.test_request_context("/", base_url=base_url(host))
