"""What every site's pages share over HTTP: safe redirects and the current path
(navigation.py), the form-status convention (forms.py), pages of rows (pagination.py), links
that leave the site (links.py), error pages (errors.py), response headers (headers.py), the
health endpoint (health.py) and a city's maintenance mode (maintenance.py)."""
