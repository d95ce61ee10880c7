"""Notifications: stored with the change that caused them, sent by the worker, in the
citizen's language, retried with back-off, listed under "My account"."""
import uuid

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.notifications import deliver_pending, notify
from app.notifications.models import DeliveryAttempt, Notification
from app.notifications.tasks import retry_due
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token, run_worker
from tests.support.cities import CONSENT


@pytest.fixture()
def town(make_city):
    return make_city("note")


def new_user(**fields) -> User:
    fields.setdefault("email", f"n-{uuid.uuid4().hex[:8]}@example.com")
    user = User(**fields)
    db.session.add(user)
    db.session.flush()
    return user


def queued_deliveries(app, slug) -> int:
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM jobs.procrastinate_jobs WHERE task_name = "
            "'notifications.deliver' AND args = CAST(:args AS jsonb) AND status = 'todo'"),
            {"args": f'{{"city": "{slug}"}}'}).scalar()


def test_a_rolled_back_change_sends_nothing(app, town):
    with tenant_context(town, app):
        notify(new_user(), "password_changed")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert queued_deliveries(app, town.slug) == 0


def test_a_committed_notification_waits_for_a_worker_and_is_sent_once(app, town, outbox):
    with tenant_context(town, app):
        user = new_user(locale="en")
        (first,) = notify(user, "password_changed")
        (second,) = notify(user, "password_changed")
        db.session.commit()
        ids = [first.id, second.id]
    assert queued_deliveries(app, town.slug) == 1  # one waiting job serves the whole city
    run_worker(app)
    run_worker(app)
    with tenant_context(town, app):
        rows = db.session.scalars(sa.select(Notification).where(Notification.id.in_(ids))).all()
        assert {(n.status, n.attempts) for n in rows} == {("sent", 1)}
        assert db.session.scalar(sa.select(sa.func.count(DeliveryAttempt.id))) == 2
    messages = outbox(town.slug)
    assert len(messages) == 2 and all("password" in m["Subject"] for m in messages)
    assert {m["Message-ID"] for m in messages} == {
        f"<notification-{town.id}-{i}@civiccloud>" for i in ids}


def test_the_message_is_in_the_citizens_language(app, town):
    with tenant_context(town, app):
        english = notify(new_user(locale="en"), "password_changed")[0]
        chinese = notify(new_user(locale="zh_Hans"), "password_changed")[0]
        db.session.commit()
        assert "password" in english.subject and "密码" in chinese.subject
        assert (english.locale, chinese.locale) == ("en", "zh_Hans")


def test_without_an_email_address_it_goes_by_sms(app, town, outbox_dir):
    with tenant_context(town, app):
        (sms,) = notify(new_user(email=None, mobile="13700000000"), "password_changed")
        db.session.commit()
        assert (sms.channel, sms.recipient) == ("sms", "13700000000")
    run_worker(app)
    text = (outbox_dir / town.slug / f"sms-{sms.id}.txt").read_text(encoding="utf-8")
    # The provider's idempotency key: the same for every attempt at this message.
    assert text.startswith(f"To: 13700000000\nIdempotency-Key: notification-{town.id}-{sms.id}\n")


def test_failed_deliveries_are_recorded_retried_with_back_off_and_given_up(app, town,
                                                                          monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "nowhere")
    monkeypatch.setitem(app.config, "NOTIFICATION_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "NOTIFICATION_RETRY_SECONDS", 0)
    with tenant_context(town, app):
        (sms,) = notify(new_user(email=None, mobile="13600000000"), "password_changed")
        db.session.commit()
        assert deliver_pending() == {"sent": 0, "retry": 1, "failed": 0}
        waiting = db.session.get(Notification, sms.id)
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert "SMS_BACKEND" in waiting.last_error
        assert deliver_pending()["retry"] == 1
        assert deliver_pending()["failed"] == 1
        given_up = db.session.get(Notification, sms.id)
        attempts = db.session.scalars(sa.select(DeliveryAttempt.succeeded).where(
            DeliveryAttempt.notification_id == sms.id)).all()
        assert given_up.status == "failed" and attempts == [False, False, False]


def test_back_off_grows_between_attempts(app, town, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "nowhere")
    monkeypatch.setitem(app.config, "NOTIFICATION_RETRY_SECONDS", 60)
    with tenant_context(town, app):
        (sms,) = notify(new_user(email=None, mobile="13500000000"), "password_changed")
        db.session.commit()
        deliver_pending()
        assert deliver_pending() == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
        def delay() -> float:
            return db.session.scalar(sa.select(Notification.next_attempt_at - sa.func.now())
                                     .where(Notification.id == sms.id)).total_seconds()

        assert 50 < delay() <= 60
        db.session.execute(sa.update(Notification).where(Notification.id == sms.id)
                           .values(next_attempt_at=sa.func.now()))  # due now
        db.session.commit()
        assert deliver_pending()["retry"] == 1
        assert 110 < delay() <= 120  # twice the first wait


def test_the_sweep_asks_for_delivery_where_notifications_are_due(app, town):
    with tenant_context(town, app):
        notify(new_user(), "password_changed")
        db.session.commit()
    run_worker(app)  # delivers, and empties the queue
    with tenant_context(town, app):
        user = new_user()
        db.session.add(Notification(user_id=user.id, event="password_changed",
                                    channel="email", recipient=user.email, locale="en",
                                    subject="s", body="b"))  # as if its job were lost
        db.session.commit()
    assert queued_deliveries(app, town.slug) == 0
    with app.app_context():
        assert retry_due() >= 1
    assert queued_deliveries(app, town.slug) == 1


def test_a_password_change_notifies_and_shows_under_my_account(app, client, make_city):
    town = make_city("note-ui", locale="en")
    host = {"Host": town.domains[0]}
    password = "correct horse battery"
    token = form_token(client.get("/account/register", headers=host))
    client.post("/account/register", headers=host, data={
        "csrf_token": token, "email": "ui@example.com", "password": password,
        "confirm": password, **CONSENT})
    token = form_token(client.get("/account/login", headers=host))  # registered: now sign in
    client.post("/account/login", headers=host, data={
        "csrf_token": token, "identifier": "ui@example.com", "password": password})
    token = form_token(client.get("/account/password", headers=host))
    client.post("/account/password", headers=host, data={
        "csrf_token": token, "current_password": password, "password": "a new password!",
        "confirm": "a new password!"})
    page = client.get("/account/", headers=host).get_data(as_text=True)
    assert "Your notifications" in page and "password was changed" in page
    assert "on its way" in page
    run_worker(app)
    assert "sent to ui@example.com" in client.get("/account/", headers=host).get_data(
        as_text=True)
