"""The tenancy layer: every city lives in a PostgreSQL schema of its own.

- naming.py           slugs, host names, and the schema and role names derived from them
- models.py           the platform tables (tenants, domains, audit log)
- db.py               the database handle; binds each session to one city (fail closed)
- context.py          which city the current request, command, job or test works for
- directory.py        the in-process host -> city directory, refreshed in the background
- routing.py          which site (platform or city) a request's Host header selects
- sessions.py         session cookies signed for one city (or the platform) only
- provisioning.py     creating, suspending, resuming, retiring, purging and deleting cities
- signals.py          what the rest of the app hears of a city's life (tenant_deleted)
- migrations.py       migrating the platform schema and the fleet of city schemas
- jobs.py             background jobs that carry their city (procrastinate)
- lifecycle_tasks.py  the periodic purge of retired cities
- log_context.py      log lines name their city
- cli.py              `flask platform …`, `flask tenants …`, `flask jobs …`, `flask worker`
"""
