"""Throttling what can be guessed: a view's failed attempts are limited per city and client
(app.extensions.client_address_key), successes cost nothing."""
from collections.abc import Callable

from flask import g

from app.extensions import limiter

UNBOUND_LIMIT = 10  # per hour, where no city is bound (its settings can't be read)


def limit_failures(per_hour: Callable[[], int], failed_status: int, shared: str | None = None):
    """A view's throttle of the POSTs it answers with `failed_status`: `per_hour()` of them
    per hour and client (the city's setting, read at each request). Views given the same
    `shared` name draw on one budget (a page and the API endpoints guessing the same thing)."""
    def limit() -> str:
        return f"{per_hour() if g.get('tenant') else UNBOUND_LIMIT} per hour"

    def failed(response) -> bool:
        return response.status_code == failed_status

    if shared:
        return limiter.shared_limit(limit, shared, methods=["POST"], deduct_when=failed)
    return limiter.limit(limit, methods=["POST"], deduct_when=failed)
