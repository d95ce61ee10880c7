"""The citizen's resources and the public catalogue of the modules (appointments, traffic
fines, payments, announcements) honour the OpenAPI document: schemathesis generates requests
for each of their operations in a city that offers the modules and has data to find, with a
token of every citizen scope. No server errors; every answer conforms to the document."""
from datetime import UTC, datetime

import hypothesis
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.oauth.scopes import CITIZEN_SCOPES
from tests.app.modules.announcements.test_announcements_api import add_announcement
from tests.app.modules.appointments.test_appointments import set_up_hospital
from tests.app.modules.traffic_fines.test_traffic_fines import add_fine
from tests.support.accounts import signed_in_citizen
from tests.support.cities import configure_city, host
from tests.support.oauth import add_client, bearer, citizen_token

# A booking's ID card number ends in a check character JSON Schema can't express: a number
# of the documented pattern may still be refused (422), so valid-looking data may be rejected.
BEYOND_THE_SCHEMA = {("POST", "/api/v1/appointments/bookings")}
PREFIXES = ("/api/v1/appointments", "/api/v1/traffic-fines", "/api/v1/payments",
            "/api/v1/announcements")


@pytest.fixture()
def town(app, make_city, client):
    tenant = make_city("apiall", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["appointments", "traffic_fines", "announcements"])
    set_up_hospital(app, tenant)
    add_fine(app, tenant)
    add_announcement(app, tenant, "Welcome", datetime.now(UTC))
    return tenant


def test_the_citizen_resources_honour_the_openapi_document(app, town, client):
    client_id, _ = add_client(app, town, scopes=tuple(CITIZEN_SCOPES))
    signed_in_citizen(app, client, town, "schemathesis@example.com")
    token = citizen_token(app, client, town, client_id, " ".join(CITIZEN_SCOPES))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=host(town))
    headers = bearer(town, token["access_token"])
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.path.startswith(PREFIXES)]
    assert len(operations) >= 12
    for operation in operations:
        conforming(operation, headers)()


def conforming(operation, headers):
    """A hypothesis test: the operation's generated requests get conforming answers."""
    excluded = ([positive_data_acceptance] if (operation.method.upper(), operation.path)
                in BEYOND_THE_SCHEMA else [])

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=15, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def conforms(case):
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return conforms


def test_a_request_without_a_token_is_refused_before_its_parameters_are_read(client, town):
    for path in ("/api/v1/appointments/bookings?status=not-a-status",
                 "/api/v1/me/notifications?page=-4"):
        answer = client.get(path, headers=host(town))
        assert answer.status_code == 401, path
        assert "access token" in answer.get_json()["detail"]
