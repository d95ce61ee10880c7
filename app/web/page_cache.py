"""Whole pages for anonymous visitors, kept per process by the city cache (tenants/city_cache.py):
a page made only of what the cache watches (the city's branding, modules and announcements) is
rendered once per city, path and language, and served again until the city's version moves or
CITY_CACHE_SECONDS pass.

Only what every anonymous visitor would get is kept: a GET or HEAD with no cookie (so no
session, no sign-in), no Authorization header and no query string (whose values would make
keys without end), answered 200 with an HTML page that left the session untouched (a CSRF token
or a flash writes it) and sets no cookie. The directory's entry for the city (its name, status,
maintenance) is kept with the page and must still be the city's. Every answer, kept or not, says
`Vary: Cookie, Accept-Language` (the language follows Accept-Language without a session).
"""
from functools import wraps

from flask import Response, current_app, g, make_response, request, session
from flask_babel import get_locale

from tenants.city_cache import city_cache

VARY = ("Cookie", "Accept-Language")


def _anonymous_request() -> bool:
    return (request.method in ("GET", "HEAD") and g.get("tenant") is not None
            and not request.cookies and not request.query_string
            and "Authorization" not in request.headers)


def _same_for_everyone(response: Response) -> bool:
    return (response.status_code == 200 and response.mimetype == "text/html"
            and not response.is_streamed and not session.modified
            and "Set-Cookie" not in response.headers)


def anonymous_page(view):
    """Serve the view's page from the city cache to anonymous visitors (see above). Only for
    views whose page depends on nothing but the city, its watched tables, the path and the
    language."""
    @wraps(view)
    def serve(*args, **kwargs):
        cache = city_cache()
        if not (cache.enabled and _anonymous_request()):
            response = make_response(view(*args, **kwargs))
        else:
            tenant, key = g.tenant, ("page", request.path, str(get_locale()))
            version = cache.version(tenant.slug)
            kept = cache.lookup(tenant.slug, key)
            if kept is not None and kept[0] == tenant:
                response = current_app.response_class(kept[1], mimetype="text/html")
            else:
                response = make_response(view(*args, **kwargs))
                if _same_for_everyone(response):
                    cache.store(tenant.slug, key, version, (tenant, response.get_data()))
        response.vary.update(VARY)
        return response

    return serve
