"""Where the city charges a fee, submitting is paying: the sandbox provider's success submits
the application in the payment's own transaction; a declined payment leaves the draft."""
import pytest

from tests.app.modules.passports.passports_support import (
    application,
    enable_passports,
    fill_in,
    submit,
)
from tests.app.payments.payments_support import pay_through_the_sandbox, reference_in
from tests.support.accounts import signed_in_citizen
from tests.support.cities import host

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("passport-fee", locale="en")
    enable_passports(app, tenant, fee_fen=12000)
    return tenant


def test_paying_the_fee_submits_the_application(app, client, town):
    signed_in_citizen(app, client, town, "payer@example.com")
    application_id = fill_in(client, town)
    review = client.get(f"/services/passports/{application_id}/review", headers=host(town))
    assert "Pay ¥120.00 and submit" in review.get_data(as_text=True)
    to_checkout = submit(client, town, application_id)
    assert to_checkout.status_code == 302 and "/payments/" in to_checkout.location
    draft = application(app, town, application_id)
    assert draft.status == "draft" and draft.payment_id is not None
    reference = reference_in(to_checkout.location)
    page = client.get(f"/services/passports/{application_id}", headers=host(town))
    assert f'href="/payments/{reference}">Continue paying the fee' in page.get_data(as_text=True)

    landed = pay_through_the_sandbox(client, town, reference)
    assert landed.status_code == 303
    assert landed.location.endswith(f"/services/passports/{application_id}")
    paid = application(app, town, application_id)
    assert paid.status == "submitted" and paid.fee_fen == 12000 and paid.sla_due
    assert [(e.from_status, e.to_status) for e in paid.events] == [("draft", "submitted")]
    page = client.get(landed.location, headers=host(town)).get_data(as_text=True)
    assert f'href="/payments/{reference}/receipt">Receipt of the fee' in page
    assert submit(client, town, application_id).status_code == 409  # not twice


def test_a_declined_payment_leaves_the_draft(app, client, town):
    signed_in_citizen(app, client, town, "declined@example.com")
    application_id = fill_in(client, town)
    to_checkout = submit(client, town, application_id)
    reference = reference_in(to_checkout.location)
    pay_through_the_sandbox(client, town, reference, decision="decline")
    assert application(app, town, application_id).status == "draft"
    again = submit(client, town, application_id)  # a new payment may be made
    assert again.status_code == 302 and reference not in again.location
