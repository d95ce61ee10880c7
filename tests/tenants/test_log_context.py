import logging

from tenants.context import tenant_context
from tenants.log_context import LOG_FORMAT, CityFilter


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
