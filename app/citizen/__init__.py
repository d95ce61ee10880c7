"""The citizen site, on each city's own host: the home page, the banner and the language
switcher (views.py), the privacy notice (privacy.py), accounts (account.py), sign-in with
the city's OpenID providers (oidc.py) and site search (search.py). The modules' citizen pages
are their own blueprints, with this site's layout."""
from app.citizen import account, oidc, privacy, search, views  # noqa: F401  (routes, commands)
from app.citizen.blueprint import bp

__all__ = ["bp"]
