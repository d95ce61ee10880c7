"""The citizen site, on each city's own host: the home page, the banner and the language
switcher (views.py), the privacy notice (privacy.py), accounts (account.py), the account's
payments and notifications (records.py), closing it (closing.py), sign-in with the city's
OpenID providers (oidc.py) and site search (search.py). The modules' citizen pages are their
own blueprints, with this site's layout."""
from app.citizen import (  # noqa: F401  (routes, commands)
    account,
    closing,
    oidc,
    privacy,
    records,
    search,
    views,
)
from app.citizen.blueprint import bp

__all__ = ["bp"]
