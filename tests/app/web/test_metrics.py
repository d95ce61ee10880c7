"""/metrics on the platform host, behind METRICS_TOKEN: requests by route and status, latency,
requests per city, jobs by task and state, queue depth, pool use."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenants.context import tenant_context
from tenants.jobs import defer_for_city
from tests.support.apps import another_app, app_config

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture(scope="module")
def metrics_app(database_url, outbox_dir):
    with another_app(app_config(database_url, outbox_dir, METRICS_TOKEN=TOKEN)) as app:
        yield app


def scrape(client) -> dict:
    response = client.get("/metrics", headers={"Host": "platform.test",
                                               "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def test_metrics_count_requests_by_route_status_and_city(metrics_app, cities):
    client = metrics_app.test_client()
    before = scrape(client)
    for _ in range(3):
        client.get("/", headers={"Host": "alpha.test"})
    client.get("/no/such/page", headers={"Host": "alpha.test"})
    after = scrape(client)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("civic_http_requests_total", method="GET", route="/", status="200") == 3
    assert grew("civic_http_requests_total", method="GET", route="-", status="404") == 1
    assert grew("civic_city_requests_total", city="alpha") == 4
    assert grew("civic_http_request_duration_seconds_count", route="/") == 3
    assert not any(name.startswith("civic_http_request_duration") and dict(labels).get("city")
                   for name, labels in after)  # no city label on latency
    assert after[("civic_db_pool_capacity", ())] >= 1
    assert ("civic_db_pool_connections_in_use", ()) in after


def test_metrics_show_jobs_by_task_and_state_and_the_queue_depth(metrics_app, cities):
    client = metrics_app.test_client()
    before = scrape(client)
    with tenant_context(cities["beta"], metrics_app):
        defer_for_city("probe.log_line", text="counted")
    after = scrape(client)
    key = ("civic_jobs", (("state", "todo"), ("task", "probe.log_line")))
    assert after[key] - before.get(key, 0) == 1
    assert after[("civic_job_queue_depth", ())] - before[("civic_job_queue_depth", ())] == 1


def test_metrics_need_the_token_and_the_platform_host(metrics_app, app, cities):
    client = metrics_app.test_client()
    wrong = client.get("/metrics", headers={"Host": "platform.test",
                                            "Authorization": "Bearer nope"})
    missing = client.get("/metrics", headers={"Host": "platform.test"})
    on_a_city = client.get("/metrics", headers={"Host": "alpha.test",
                                                "Authorization": f"Bearer {TOKEN}"})
    assert (wrong.status_code, missing.status_code, on_a_city.status_code) == (401, 401, 404)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    # Without METRICS_TOKEN there is no /metrics at all.
    assert app.test_client().get("/metrics", headers={"Host": "platform.test"}).status_code == 404
