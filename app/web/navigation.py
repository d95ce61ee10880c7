"""Where a page sends its visitor next: only ever a path of the same site."""
from urllib.parse import urlsplit

from flask import request, url_for


def safe_next(target: str | None, default: str = "/") -> str:
    """A path on this same site, or `default`: never a redirect to another host."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith(("//", "/\\")) or parts.scheme
            or parts.netloc or any(ord(c) < 32 or c == "\\" for c in target)):
        return default
    return target


def current_path() -> str:
    """The current page's path and query, where the switcher sends the visitor back to."""
    return request.full_path if request.query_string else request.path


def next_path(default_endpoint: str) -> str:
    """The request's `next` path of this site, else the page of `default_endpoint`."""
    return safe_next(request.args.get("next"), url_for(default_endpoint))
