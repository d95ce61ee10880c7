import json
import logging

from tenants.context import tenant_context
from tenants.jobs import defer_for_city
from tenants.log_context import LOG_FORMAT, CityFilter, bind_request_id, json_formatter
from tests.conftest import run_worker


def test_log_lines_name_the_bound_city(app, cities, caplog):
    caplog.handler.addFilter(CityFilter())
    caplog.handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log = logging.getLogger("civic.test")
    with caplog.at_level(logging.INFO, logger="civic.test"):
        with tenant_context(cities["beta"], app):
            log.info("inside")
        with app.app_context():
            log.info("outside")
    inside, outside = caplog.text.splitlines()
    assert "city=beta" in inside and "city=-" in outside
    assert "request=-" in inside


def test_a_job_logs_under_the_request_id_of_whoever_deferred_it(app, cities, caplog):
    caplog.handler.addFilter(CityFilter())
    caplog.handler.setFormatter(json_formatter())
    with tenant_context(cities["alpha"], app):
        bind_request_id("req-7f3a")
        defer_for_city("probe.log_line", text="written by the job")
    with caplog.at_level(logging.INFO, logger="civic.probe"):
        run_worker(app)
    lines = [json.loads(line) for line in caplog.text.splitlines()
             if "written by the job" in line]
    assert len(lines) == 1
    assert (lines[0]["city"], lines[0]["request_id"]) == ("alpha", "req-7f3a")
    assert lines[0]["level"] == "INFO" and lines[0]["name"] == "civic.probe"
