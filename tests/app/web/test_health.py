"""/healthz says the process answers; /readyz that it can serve: database, schemas at head, job
queue."""
import pytest
from psycopg import sql

from app import create_app
from tenants.db import db

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"


def test_healthz_and_readyz_answer_on_any_host_when_all_is_well(client, cities):
    for host in ("platform.test", "alpha.test", "unknown.test"):
        assert client.get("/healthz", headers={"Host": host}).get_json() == {"status": "ok"}
        ready = client.get("/readyz", headers={"Host": host})
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json() == {"status": "ready", "database": "ok", "platform_schema": "ok",
                                    "city_schemas": "ok", "job_queue": "ok"}


def test_without_a_database_healthz_still_answers_and_readyz_says_503():
    app = create_app({"CIVIC_ENV": "test", "TESTING": True,
                      "TENANT_DIRECTORY_REFRESH_SECONDS": 0, "DATABASE_URL": UNREACHABLE})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not ready", "database": "unreachable",
                                "job_queue": "unreachable"}


@pytest.fixture()
def city_behind(app, make_city):
    """A city whose schema says it is at an older revision than the head (put back after)."""
    city = make_city("behind")
    table = sql.Identifier(city.schema, "alembic_version")
    with app.app_context(), db.engine.begin() as connection:
        head = connection.exec_driver_sql(f"SELECT version_num FROM {table.as_string()}")\
            .scalar_one()
        connection.exec_driver_sql(f"UPDATE {table.as_string()} SET version_num = 'older'")
    app.extensions["tenant_directory"].mark_stale()
    yield city
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {table.as_string()} SET version_num = %s", (head,))


def test_readyz_names_a_city_whose_schema_is_behind(client, city_behind):
    ready = client.get("/readyz", headers={"Host": "platform.test"})
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["city_schemas"] == {"behind": 1, "cities": [city_behind.slug]}
    assert (body["database"], body["platform_schema"], body["job_queue"]) == ("ok", "ok", "ok")
