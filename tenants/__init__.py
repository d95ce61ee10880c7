"""The tenancy layer: every city lives in a PostgreSQL schema of its own.

- naming.py        slugs, host names, and the schema and role names derived from them
- models.py        the platform tables (tenants, domains, audit log)
- db.py            the database handle; binds each session to one city (fail closed)
- context.py       which city the current request, command, job or test works for
- directory.py     the in-process host -> city directory, refreshed in the background
- routing.py       which site (platform or city) a request's Host header selects
- provisioning.py  creating, suspending, resuming and deleting cities
- migrations.py    migrating the platform schema and the fleet of city schemas
- log_context.py   log lines name their city
- cli.py           `flask platform …` and `flask tenants …`
"""
