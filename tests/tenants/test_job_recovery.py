"""Jobs of workers that died: recovered once, whatever the queueing locks, however many workers
recover at the same time; a worker SIGKILLed in the middle of a batch of messages loses none."""
import email
import email.policy
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.notifications import notify
from app.notifications.models import DeliveryAttempt, Notification
from tenants.context import tenant_context
from tenants.db import db
from tenants.jobs import QUEUED_AGAIN, SUPERSEDED, recover_stalled_jobs, worker_app
from tests.support.workers import worker_process


def _sql(app, statement, **params):
    with app.app_context(), db.engine.begin() as connection:
        # procrastinate's triggers name its tables without a schema
        connection.exec_driver_sql("SET LOCAL search_path TO jobs, public")
        result = connection.execute(sa.text(statement), params)
        return result.all() if result.returns_rows else []


@pytest.fixture()
def dead_worker(app):
    """The id of a worker row whose heartbeat stopped an hour ago; its jobs go afterwards."""
    (worker_id,), = _sql(app, "INSERT INTO jobs.procrastinate_workers (last_heartbeat) "
                         "VALUES (now() - interval '1 hour') RETURNING id")
    yield worker_id
    _sql(app, "DELETE FROM jobs.procrastinate_jobs WHERE task_name = 'probe.stalled'")
    _sql(app, "DELETE FROM jobs.procrastinate_workers WHERE id = :id", id=worker_id)


def _job(app, status, lock, worker_id=None) -> int:
    (job_id,), = _sql(app, "INSERT INTO jobs.procrastinate_jobs (queue_name, task_name, "
                      "queueing_lock, status, worker_id) VALUES ('probe', 'probe.stalled', "
                      ":lock, CAST(:status AS jobs.procrastinate_job_status), :worker) "
                      "RETURNING id", lock=lock, status=status, worker=worker_id)
    return job_id


def _statuses(app, *job_ids) -> list[str]:
    rows = dict(_sql(app, "SELECT id, status::text FROM jobs.procrastinate_jobs "
                     "WHERE id = ANY(:ids)", ids=list(job_ids)))
    return [rows[job_id] for job_id in job_ids]


def test_a_stalled_job_whose_queueing_lock_waits_again_is_cancelled_not_crashed(
        app, dead_worker):
    lock = f"deliver:probe-{uuid.uuid4().hex[:8]}"
    stalled = _job(app, "doing", lock, dead_worker)
    waiting = _job(app, "todo", lock)
    alone = _job(app, "doing", f"{lock}-alone", dead_worker)
    recovered = recover_stalled_jobs(worker_app(app), 60)
    assert recovered[SUPERSEDED] >= 1 and recovered[QUEUED_AGAIN] >= 1
    assert _statuses(app, stalled, waiting, alone) == ["cancelled", "todo", "todo"]
    again = recover_stalled_jobs(worker_app(app), 60)  # nothing of these is left to recover
    assert _statuses(app, stalled, waiting, alone) == ["cancelled", "todo", "todo"]
    assert again[SUPERSEDED] == 0


def test_workers_recovering_at_the_same_time_change_each_job_once(app, dead_worker):
    locks = [f"deliver:race-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    stalled = [_job(app, "doing", lock, dead_worker) for lock in locks]
    waiting = [_job(app, "todo", lock) for lock in locks[::2]]  # half of them wait again
    results, errors = [], []
    start = threading.Barrier(4)

    def recover():
        try:
            start.wait()
            results.append(recover_stalled_jobs(worker_app(app), 60))
        except Exception as error:  # noqa: BLE001  (the assertion below shows it)
            errors.append(error)

    threads = [threading.Thread(target=recover) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert _statuses(app, *stalled) == ["cancelled", "todo"] * 3
    assert _statuses(app, *waiting) == ["todo"] * 3
    attempts = dict(_sql(app, "SELECT id, attempts FROM jobs.procrastinate_jobs "
                         "WHERE id = ANY(:ids)", ids=stalled))
    assert set(attempts.values()) == {1}  # each changed by exactly one of the four workers


def _wait_for(condition, process, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"{what}: {process.communicate()[0].decode()}")
        time.sleep(0.1)


def _message_id(path: Path) -> str:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Message-ID"]


def test_a_worker_sigkilled_mid_batch_loses_no_message_and_repeats_keep_their_message_id(
        app, make_city, database_url, outbox_dir, request, on_citus):
    if on_citus:  # the queue is the platform's, alike on both; only the test's trigger differs
        pytest.skip("the test holds the worker with a trigger, which Citus refuses on a "
                    "distributed table")
    town = make_city("midbatch")
    with tenant_context(town, app):
        user = User(email=f"batch-{uuid.uuid4().hex[:6]}@example.com", locale="en")
        db.session.add(user)
        db.session.flush()
        batch = [notify(user, "password_changed")[0] for _ in range(5)]
        db.session.commit()
        ids = [notification.id for notification in batch]
        user_id = user.id
    held = ids[2]
    # The third message's attempt cannot be recorded while this advisory lock is held: the
    # worker sends it, then waits before its transaction commits, where it is killed.
    hold_key = f"civic-test-hold-{town.slug}"
    _sql(app, f"""
        CREATE FUNCTION "{town.schema}".hold_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.notification_id = {held} THEN
                PERFORM pg_advisory_xact_lock_shared(hashtext('{hold_key}'));
            END IF;
            RETURN NEW;
        END $$""")
    _sql(app, f"""
        CREATE TRIGGER hold_attempt BEFORE INSERT ON "{town.schema}".notification_attempts
            FOR EACH ROW EXECUTE FUNCTION "{town.schema}".hold_attempt()""")
    outbox = outbox_dir / town.slug
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": hold_key})
        first = worker_process(database_url, outbox_dir)
        request.addfinalizer(first.kill)  # a failed assertion must leave no worker behind

        def sent_two_and_sending_the_third():
            with tenant_context(town, app):
                sent = db.session.scalars(sa.select(Notification.id).where(
                    Notification.id.in_(ids), Notification.status == "sent")).all()
            return sorted(sent) == ids[:2] and (outbox / f"notification-{held}.eml").exists()

        _wait_for(sent_two_and_sending_the_third, first, "the first worker never got there")
        first_copy = _message_id(outbox / f"notification-{held}.eml")
        # A message made now queues a delivery job with the same queueing lock as the one the
        # worker holds ("doing"): the job that the next worker's recovery finds in its way.
        with tenant_context(town, app):
            late = notify(db.session.get(User, user_id), "password_changed")[0]
            db.session.commit()
            ids.append(late.id)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        holder.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": hold_key})
        holder.commit()
    time.sleep(1.5)  # the dead worker's heartbeat grows older than JOBS_STALLED_AFTER_SECONDS
    second = worker_process(database_url, outbox_dir, "--once")
    request.addfinalizer(second.kill)
    output = second.communicate(timeout=120)[0].decode()
    assert second.returncode == 0, output
    assert "cancelled 1 job(s) of workers that stopped" in output, output
    with tenant_context(town, app):
        rows = db.session.scalars(sa.select(Notification).where(Notification.id.in_(ids))
                                  .order_by(Notification.id)).all()
        assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 6
        recorded = db.session.scalars(sa.select(DeliveryAttempt.notification_id).where(
            DeliveryAttempt.notification_id.in_(ids))).all()
        assert sorted(recorded) == ids  # one recorded attempt each: the killed one rolled back
    for notification_id in ids:
        assert (outbox / f"notification-{notification_id}.eml").exists()
    # Sent twice (before the kill and after), both times under the same Message-ID.
    assert _message_id(outbox / f"notification-{held}.eml") == first_copy
    assert first_copy == f"<notification-{town.id}-{held}@civiccloud>"
