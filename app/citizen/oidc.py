"""Sign-in with the city's OpenID Connect providers, and `flask tenants oidc`."""
