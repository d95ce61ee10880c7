"""The two yardsticks of bench/serving.py, served by gunicorn with config/gunicorn.py as the city
site is (`gunicorn -c config/gunicorn.py 'bench._bare_app:select_app()'`):

- `hello_app()`: Flask answering "hello" — what the framework and the server cost alone;
- `select_app()`: Flask + SQLAlchemy answering one SELECT of 10 rows (a city's announcements)
  from the schema its Host header names — the least any city page can cost.

The select app reads DATABASE_URL (unless given a URL), and the cities' hosts once per worker
(after the fork) on its first request; it uses SQLAlchemy's defaults (QueuePool, no pre-ping)
with the city site's pool size. Not a benchmark itself: `make bench` runs only the scripts
whose names start with a letter.
"""
import os

from flask import Flask, abort, request


def hello_app() -> Flask:
    app = Flask("bare_hello")
    app.add_url_rule("/", "hello", lambda: "hello")
    return app


def select_app(database_url: str | None = None) -> Flask:
    import sqlalchemy as sa  # after gevent patched the standard library (config/gunicorn.py)

    from config.settings import sqlalchemy_url

    app = Flask("bare_select")
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))
    engine = sa.create_engine(sqlalchemy_url(database_url or os.environ["DATABASE_URL"]),
                              pool_size=pool_size, max_overflow=pool_size // 2)
    announcements = sa.Table("announcements", sa.MetaData(), sa.Column("id", sa.BigInteger),
                             sa.Column("title", sa.String), sa.Column("published_at",
                                                                      sa.DateTime))
    latest = sa.select(announcements).order_by(announcements.c.id.desc()).limit(10)
    app.extensions["engine"] = engine
    city_engines: dict[str, sa.Engine] = {}

    def engine_for(host: str) -> sa.Engine | None:
        if not city_engines:
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT d.host, t.schema_name FROM platform.tenant_domains d "
                    "JOIN platform.tenants t ON t.id = d.tenant_id")).all()
            for name, schema in rows:
                city_engines[name] = engine.execution_options(
                    schema_translate_map={None: schema})
        return city_engines.get(host)

    @app.get("/")
    def ten_rows():
        city = engine_for(request.host.split(":")[0])
        if city is None:
            abort(404)
        with city.connect() as connection:
            rows = connection.execute(latest).all()
        return "\n".join(f"{row.id} {row.title} {row.published_at:%Y-%m-%d}" for row in rows)

    return app


if __name__ == "__main__":
    print(__doc__)
