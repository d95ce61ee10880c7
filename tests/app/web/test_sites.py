"""Each request is bound to its site by the Host header."""
import pytest

from app import create_app
from tenants.provisioning import set_status


def test_the_platform_host_gets_the_platform_landing(client, cities):
    response = client.get("/", headers={"Host": "platform.test:5000"})
    assert response.status_code == 200
    assert "CivicCloud" in response.get_data(as_text=True)


def test_each_city_host_gets_its_own_home(client, cities):
    alpha = client.get("/", headers={"Host": "alpha.test"}).get_data(as_text=True)
    beta = client.get("/", headers={"Host": "www.beta.test:8000"}).get_data(as_text=True)
    assert "阿尔法市" in alpha and 'lang="zh-Hans"' in alpha and "Beta" not in alpha
    assert "Welcome to Beta online services" in beta and 'lang="en"' in beta


def test_an_unknown_host_gets_a_404_page_whatever_the_path(client, cities):
    for path in ("/", "/admin", "/healthz-not"):
        response = client.get(path, headers={"Host": "unknown.test"})
        assert response.status_code == 404
        assert "No city" in response.get_data(as_text=True) or "没有" in response.get_data(
            as_text=True)


def test_the_404_answers_json_to_clients_that_ask(client, cities):
    response = client.get("/", headers={"Host": "unknown.test", "Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_a_platform_path_is_not_served_on_a_city_host_nor_the_reverse(client, cities):
    assert client.get("/nonexistent", headers={"Host": "platform.test"}).status_code == 404
    assert client.get("/nonexistent", headers={"Host": "alpha.test"}).status_code == 404


def test_a_suspended_city_answers_503_with_a_page_that_says_so(app, client, make_city):
    tenant = make_city("paused", locale="en")
    host = tenant.domains[0]
    assert client.get("/", headers={"Host": host}).status_code == 200
    with app.app_context():
        set_status(tenant.slug, "suspended")
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 503
    assert "suspended" in response.get_data(as_text=True)
    with app.app_context():
        set_status(tenant.slug, "active")
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url at all"])
def test_a_wrong_database_url_is_a_clear_configuration_error(url):
    from config.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app({"DATABASE_URL": url})


def test_every_page_forbids_scripts_framing_and_foreign_assets(client, cities):
    for host in ("platform.test", "alpha.test", "unknown.test"):
        headers = client.get("/", headers={"Host": host}).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "default-src 'self'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_body_over_the_limit_is_refused_with_413_before_anything_reads_it(client, cities):
    too_big = b"x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/account/login", data=too_big, headers={
        "Host": "beta.test", "Accept-Language": "en",
        "Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
