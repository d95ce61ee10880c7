"""Webhooks end to end, with a real HTTP receiver on loopback: endpoints registered in the
console (secret shown once, audited), deliveries signed and sent by the job queue after a
payment settles through the sandbox, is refunded, or an appointment is booked; retries with
back-off, pausing, resuming and re-sending; the outbound guard; one city's events never reach
another city's endpoint."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app import crypto
from app.payments import service
from app.payments.models import Payment
from app.webhooks import publish
from app.webhooks.delivery import backoff, deliver_due, signature_header
from app.webhooks.endpoints import create_endpoint
from app.webhooks.models import DELIVERED, FAILED, PAUSED, WebhookDelivery, WebhookEndpoint
from docs.examples.api_walkthrough import verify
from tenants.context import tenant_context
from tenants.db import db
from tests.app.modules.appointments.test_appointments import (
    book,
    enable,
    local,
    new_citizen,
    set_up_hospital,
    tomorrow,
)
from tests.app.payments.payments_support import new_payment, pay_through_the_sandbox, remember
from tests.conftest import run_worker
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, host, post_form


class Receiver:
    """A threading http.server that records every POST and answers `status` with `answer`."""

    def __init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args):
                pass

        self.received, self.status, self.answer = [], 200, b"thanks"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.received]


@pytest.fixture()
def receiver():
    made = Receiver()
    yield made
    made.httpd.shutdown()
    made.httpd.server_close()


@pytest.fixture()
def town(make_city):
    return make_city("hooks", locale="en")


def register(app, town, url, events=("payment.received",)) -> tuple[int, str]:
    with tenant_context(town, app):
        endpoint, secret = create_endpoint("test", url=url, events=events)
        db.session.commit()
        return endpoint.id, secret


def deliveries(app, town, endpoint_id) -> list[WebhookDelivery]:
    with tenant_context(town, app):
        rows = db.session.scalars(sa.select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)).all()
        db.session.expunge_all()
        return rows


def endpoint_of(app, town, endpoint_id) -> WebhookEndpoint:
    with tenant_context(town, app):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        db.session.expunge_all()
        return endpoint


def publish_one(app, town, data=None, event_type="payment.received"):
    with tenant_context(town, app):
        event_id = publish(event_type, data or {"reference": "P-1"})
        db.session.commit()
        return event_id


def deliver(app, town) -> dict:
    with tenant_context(town, app):
        return deliver_due()


def make_due(app, town) -> None:
    """As if the back-off had passed."""
    with tenant_context(town, app):
        db.session.execute(sa.update(WebhookDelivery).values(next_attempt_at=sa.func.now()))
        db.session.commit()


def test_an_admin_registers_an_endpoint_whose_secret_is_shown_once(app, client, town,
                                                                   receiver):
    signed_in_staff(app, client, town)
    assert 'href="/admin/webhooks"' in client.get("/admin/", headers=host(town)).get_data(
        as_text=True)
    response = post_form(client, town, "/admin/webhooks/new", {
        "url": receiver.url, "description": "Back office", "events": ["payment.received",
                                                                     "booking.made"]})
    assert response.status_code == 201
    shown = response.get_data(as_text=True)
    with tenant_context(town, app):
        endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
        secret = crypto.decrypt(endpoint.secret_encrypted)
        assert endpoint.events == ["booking.made", "payment.received"]
    assert secret.startswith("whsec_") and f'value="{secret}"' in shown
    assert secret not in endpoint.secret_encrypted
    page = client.get(f"/admin/webhooks/{endpoint.id}", headers=host(town)).get_data(
        as_text=True)
    assert receiver.url in page and secret not in page
    [entry] = audit_entries(app, town, "webhook.add")
    assert entry.after == {"url": receiver.url, "description": "Back office",
                           "events": ["booking.made", "payment.received"], "state": "active"}
    assert secret not in json.dumps(entry.after)

    response = post_form(client, town, f"/admin/webhooks/{endpoint.id}", {
        "url": receiver.url, "description": "Back office", "events": ["booking.made"]})
    assert response.status_code == 302
    assert audit_entries(app, town, "webhook.edit")[0].after["events"] == ["booking.made"]
    response = post_form(client, town, "/admin/webhooks/new", {
        "url": "ftp://x", "events": ["no.such.event"]})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter a full URL" in body and "Choose at least one event" in body
    response = post_form(client, town, f"/admin/webhooks/{endpoint.id}/delete", {},
                         page=f"/admin/webhooks/{endpoint.id}")
    assert response.status_code == 302
    assert endpoint_of(app, town, endpoint.id) is None
    assert audit_entries(app, town, "webhook.delete")[0].before["url"] == receiver.url


def test_a_payment_settled_through_the_sandbox_and_refunded_is_delivered_signed(
        app, client, town, receiver):
    endpoint_id, secret = register(app, town, receiver.url,
                                   ("payment.received", "payment.refunded"))
    payment = new_payment(app, town, ((7, 1234),))
    remember(client, town, payment)
    pay_through_the_sandbox(client, town, payment.reference)
    run_worker(app)
    [(headers, body)] = receiver.received
    assert verify(secret, headers["CivicCloud-Signature"], body)
    assert not verify(secret, headers["CivicCloud-Signature"], body + b" ")
    assert not verify("whsec_other", headers["CivicCloud-Signature"], body)
    replayed = signature_header([secret], int(time.time()) - 301, body)  # signed right, too old
    assert not verify(secret, replayed, body)
    event = json.loads(body)
    assert headers["CivicCloud-Event-Id"] == event["id"]
    assert headers["CivicCloud-Event"] == event["type"] == "payment.received"
    assert event["city"] == town.slug
    assert event["data"]["reference"] == payment.reference
    assert event["data"]["amount_fen"] == 1234 and event["data"]["status"] == "success"
    [delivery] = deliveries(app, town, endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.last_status_code,
            delivery.last_response_excerpt) == (DELIVERED, 1, 200, "thanks")

    with tenant_context(town, app):
        locked = db.session.scalar(sa.select(Payment).where(
            Payment.reference == payment.reference).with_for_update())
        service.refund(locked, 234, "overcharged", "test")
        db.session.commit()
    run_worker(app)
    refunded = receiver.events()[1]
    assert refunded["type"] == "payment.refunded" and refunded["id"] != event["id"]
    assert refunded["data"]["refund"]["amount_fen"] == 234
    assert refunded["data"]["refunded_fen"] == 234


def test_a_booking_is_delivered_and_a_rolled_back_one_is_not(app, make_city, receiver):
    clinic = make_city("hookclinic", locale="en", timezone="Asia/Shanghai")
    enable(app, clinic)
    place = set_up_hospital(app, clinic)
    register(app, clinic, receiver.url, ("booking.made", "booking.cancelled"))
    citizen = new_citizen(app, clinic)
    reference = book(app, clinic, citizen, place.department, local(tomorrow(), 9), place.doctor)
    with tenant_context(clinic, app):  # an event whose change is rolled back is never sent
        publish("booking.made", {"reference": "never"})
        db.session.rollback()
    run_worker(app)
    [event] = receiver.events()
    assert event["type"] == "booking.made" and event["data"]["reference"] == reference
    assert "Zhang San" not in json.dumps(event)  # no patient's name


def test_a_failing_receiver_is_retried_with_back_off_then_paused_and_resumed(
        app, client, town, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_PAUSE_AFTER_FAILURES", 3)
    endpoint_id, _secret = register(app, town, receiver.url)
    receiver.status, receiver.answer = 500, b"\x00boom " + b"x" * 5000
    event_id = publish_one(app, town)
    waits = []
    for attempt in range(1, 4):
        assert deliver(app, town)["retry"] == 1
        [delivery] = deliveries(app, town, endpoint_id)
        assert delivery.attempts == attempt and delivery.last_status_code == 500
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
        assert delivery.last_response_excerpt.startswith("\ufffdboom")
        assert len(delivery.last_response_excerpt) == 500
        assert deliver(app, town) == {"delivered": 0, "retry": 0, "failed": 0}  # not yet due
        make_due(app, town)
    with app.app_context():
        assert waits == [backoff(1), backoff(2), backoff(3)]
        assert backoff(1) < backoff(2) < backoff(3)
    assert len(receiver.received) == 3
    assert len({headers["CivicCloud-Event-Id"] for headers, _ in receiver.received}) == 1
    assert receiver.received[0][0]["CivicCloud-Event-Id"] == str(event_id)
    endpoint = endpoint_of(app, town, endpoint_id)
    assert endpoint.state == PAUSED and endpoint.consecutive_failures == 3
    assert audit_entries(app, town, "webhook.pause")[0].actor == "system:webhooks"
    assert deliver(app, town)["retry"] == 0  # paused: nothing is sent
    assert len(receiver.received) == 3

    signed_in_staff(app, client, town)
    home = client.get("/admin/", headers=host(town)).get_data(as_text=True)
    assert "Webhooks paused" in home
    receiver.status, receiver.answer = 204, b""
    page = f"/admin/webhooks/{endpoint_id}"
    assert "failed 3 times in a row" in client.get(page, headers=host(town)).get_data(
        as_text=True)
    assert post_form(client, town, f"{page}/resume", {}, page=page).status_code == 302
    run_worker(app)
    [delivery] = deliveries(app, town, endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (DELIVERED, 4, 204)
    assert endpoint_of(app, town, endpoint_id).state == "active"
    assert "Webhooks paused" not in client.get("/admin/", headers=host(town)).get_data(
        as_text=True)
    assert audit_entries(app, town, "webhook.resume")

    # Re-sent from the console: the same event (same id) arrives again.
    assert post_form(client, town, f"{page}/deliveries/{delivery.id}/resend", {},
                     page=page).status_code == 302
    run_worker(app)
    assert len(receiver.received) == 5
    assert receiver.received[-1][0]["CivicCloud-Event-Id"] == str(event_id)
    assert audit_entries(app, town, "webhook.resend")


def test_a_delivery_is_given_up_after_the_last_attempt(app, town, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 2)
    endpoint_id, _secret = register(app, town, receiver.url)
    receiver.status = 410
    publish_one(app, town)
    assert deliver(app, town)["retry"] == 1
    make_due(app, town)
    assert deliver(app, town)["failed"] == 1
    assert deliveries(app, town, endpoint_id)[0].state == FAILED


def test_the_guard_refuses_a_private_endpoint_under_production(app, client, town, receiver,
                                                               monkeypatch):
    endpoint_id, _secret = register(app, town, receiver.url)  # loopback: fine in tests
    monkeypatch.setitem(app.config, "CIVIC_ENV", "production")
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", crypto.development_key(
        app.config["SECRET_KEY"]).decode())
    publish_one(app, town)
    assert deliver(app, town)["retry"] == 1
    [delivery] = deliveries(app, town, endpoint_id)
    assert delivery.last_status_code is None
    assert "OutboundRefused" in delivery.last_response_excerpt
    assert receiver.received == []

    signed_in_staff(app, client, town)
    for url in (receiver.url, "https://127.0.0.1/hook", "https://10.1.2.3/hook",
                "https://localhost/hook"):
        response = post_form(client, town, "/admin/webhooks/new",
                             {"url": url, "events": ["payment.received"]})
        assert response.status_code == 422, url
    with tenant_context(town, app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 1


def test_another_citys_endpoint_never_receives_this_citys_events(app, make_city, receiver):
    first, second = make_city("hooksa", locale="en"), make_city("hooksb", locale="en")
    other = Receiver()
    try:
        register(app, first, receiver.url)
        register(app, second, other.url)
        publish_one(app, first, {"reference": "A-1"})
        run_worker(app)
        assert [event["data"]["reference"] for event in receiver.events()] == ["A-1"]
        assert [event["city"] for event in receiver.events()] == [first.slug]
        assert other.received == []
        with tenant_context(second, app):
            assert db.session.scalar(
                sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


def test_staff_below_administrator_cannot_see_webhooks(app, client, town):
    signed_in_staff(app, client, town, role="clerk", modules=["appointments"])
    assert client.get("/admin/webhooks", headers=host(town)).status_code == 403


def test_the_sweep_asks_for_delivery_of_due_events(app, town, receiver):
    from app.webhooks.tasks import retry_due

    register(app, town, receiver.url)
    with tenant_context(town, app):  # written without the after-commit job (as if it was lost)
        publish("payment.received", {"reference": "swept"})
        db.session.info.clear()
        db.session.commit()
    with app.app_context():
        assert retry_due() >= 1
    run_worker(app)
    assert [event["data"]["reference"] for event in receiver.events()] == ["swept"]


def test_a_new_signing_secret_signs_beside_the_old_one_for_a_day(app, client, town, receiver):
    endpoint_id, old = register(app, town, receiver.url)
    signed_in_staff(app, client, town)
    page = f"/admin/webhooks/{endpoint_id}"
    response = post_form(client, town, f"{page}/secret", {}, page=page)
    assert response.status_code == 200
    with tenant_context(town, app):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        new = crypto.decrypt(endpoint.secret_encrypted)
    assert new != old and f'value="{new}"' in response.get_data(as_text=True)
    assert new not in client.get(page, headers=host(town)).get_data(as_text=True)
    [entry] = audit_entries(app, town, "webhook.rotate_secret")
    assert new not in json.dumps(entry.after) and old not in json.dumps(entry.after)

    publish_one(app, town)
    deliver(app, town)
    [(headers, body)] = receiver.received
    signed = headers["CivicCloud-Signature"]
    assert signed.count("v1=") == 2
    assert verify(new, signed, body) and verify(old, signed, body)  # either receiver accepts

    with tenant_context(town, app):  # a day later
        db.session.execute(sa.update(WebhookEndpoint).values(
            previous_secret_expires_at=sa.func.now() - sa.text("interval '1 second'")))
        db.session.commit()
    publish_one(app, town, {"reference": "P-2"})
    deliver(app, town)
    headers, body = receiver.received[1]
    assert headers["CivicCloud-Signature"].count("v1=") == 1
    assert verify(new, headers["CivicCloud-Signature"], body)
    assert not verify(old, headers["CivicCloud-Signature"], body)

    # Rotated again: the first secret is gone at once, the second signs beside the third.
    post_form(client, town, f"{page}/secret", {}, page=page)
    with tenant_context(town, app):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert crypto.decrypt(endpoint.previous_secret_encrypted) == new


def test_a_secret_is_changed_only_by_a_form_of_the_console(app, client, town, receiver):
    endpoint_id, secret = register(app, town, receiver.url)
    signed_in_staff(app, client, town)
    forged = client.post(f"/admin/webhooks/{endpoint_id}/secret", headers=host(town))
    assert forged.status_code == 400  # no CSRF token
    assert post_form(client, town, "/admin/webhooks/999999/secret", {},
                     page=f"/admin/webhooks/{endpoint_id}").status_code == 404
    with tenant_context(town, app):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert crypto.decrypt(endpoint.secret_encrypted) == secret
        assert endpoint.previous_secret_encrypted is None


def test_a_forged_signature_header_is_refused_not_raised():
    for header in ("", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00", "garbage"):
        assert verify("whsec_x", header, b"{}") is False
