"""Jobs carry their city: a city job works only on that city, a platform job on no city."""
import json
import signal
import time
import uuid

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.notifications import notify
from app.notifications.models import DeliveryAttempt, Notification
from tenants.context import tenant_context
from tenants.db import TenantNotBound, db
from tenants.jobs import defer, defer_for_city
from tests.conftest import run_worker
from tests.support.workers import worker_process


def job_rows(app, task_name):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT id, status, args FROM jobs.procrastinate_jobs WHERE task_name = :task "
            "ORDER BY id"), {"task": task_name}).all()


def test_a_city_job_runs_in_its_city_and_cannot_read_another(app, make_city):
    home, other = make_city("jobs"), make_city("jobs")
    with app.app_context():
        defer("probe.read_other_city", city=home.slug, other_schema=other.schema)
    run_worker(app)
    with tenant_context(home, app):
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor == "probe")).all()
    with tenant_context(other, app):
        foreign = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor == "probe")).all()
    assert actions == ["probe.denied"] and foreign == []


def test_a_platform_job_cannot_touch_city_data(app, cities):
    marker = uuid.uuid4().hex
    with app.app_context():
        defer("probe.city_data_without_city", marker=marker)
    run_worker(app)
    with app.app_context(), db.engine.connect() as connection:
        action = connection.execute(sa.text(
            "SELECT action FROM platform.audit_log WHERE detail->>'marker' = :marker"),
            {"marker": marker}).scalar()
    assert action == "probe.refused"


def test_deferring_a_city_job_needs_a_bound_city(app_context):
    with pytest.raises(TenantNotBound):
        defer_for_city("notifications.deliver")


def test_jobs_status_and_retry_of_failed_jobs(app, cli, make_city):
    town = make_city("jobfail")
    with app.app_context():
        defer("probe.fail", city=town.slug)
    run_worker(app)
    (job_id, status, args), *_ = [row for row in job_rows(app, "probe.fail")
                                  if row.args == {"city": town.slug}]
    assert status == "failed"
    counts = json.loads(cli.invoke(args=["jobs", "status", "--json"]).output)
    assert counts["probe.fail"]["failed"] >= 1
    assert "not failed" in cli.invoke(args=["jobs", "retry", "999999999"]).output
    result = cli.invoke(args=["jobs", "retry", str(job_id)])
    assert result.exit_code == 0 and "queued again 1" in result.output
    assert {row.id: row.status for row in job_rows(app, "probe.fail")}[job_id] == "todo"
    run_worker(app)  # fails again; leave nothing queued for other tests


def test_a_worker_killed_mid_delivery_delivers_exactly_once_after_restart(
        app, make_city, database_url, outbox_dir):
    town = make_city("killed")
    with tenant_context(town, app):
        user = User(email=f"kill-{uuid.uuid4().hex[:6]}@example.com", locale="en")
        db.session.add(user)
        db.session.flush()
        (notification,) = notify(user, "password_changed")
        db.session.commit()
        notification_id = notification.id
    # Hold the city's delivery lock: the first worker takes the job and blocks inside it.
    with app.app_context(), db.engine.connect() as blocker:
        blocker.exec_driver_sql(
            f"SELECT pg_advisory_lock(hashtext('civic:deliver:{town.slug}'))")
        first = worker_process(database_url, outbox_dir)
        deadline = time.monotonic() + 30
        while not any(row.status == "doing" and row.args == {"city": town.slug}
                      for row in job_rows(app, "notifications.deliver")):
            assert time.monotonic() < deadline, first.stdout.read1().decode()
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        blocker.exec_driver_sql(
            f"SELECT pg_advisory_unlock(hashtext('civic:deliver:{town.slug}'))")
        blocker.commit()
    time.sleep(1.5)  # the dead worker's heartbeat grows old
    second = worker_process(database_url, outbox_dir, "--once")
    output = second.communicate(timeout=60)[0].decode()
    assert second.returncode == 0, output
    assert "queued again" in output
    with tenant_context(town, app):
        sent = db.session.get(Notification, notification_id)
        attempts = db.session.scalars(sa.select(DeliveryAttempt).where(
            DeliveryAttempt.notification_id == notification_id)).all()
        assert (sent.status, sent.attempts, len(attempts)) == ("sent", 1, 1)
    files = list((outbox_dir / town.slug).glob(f"notification-{notification_id}.eml"))
    assert len(files) == 1


def test_a_job_for_a_city_this_worker_has_not_seen_yet_runs(app, database_url, cities):
    """A worker's directory lags new cities (and restores) by its refresh interval; a job
    for such a city must still run, not fail or be dropped."""
    from app import create_app
    from tenants.provisioning import create_tenant

    worker = create_app({"CIVIC_ENV": "test", "TESTING": True, "DATABASE_URL": database_url,
                         "PLATFORM_HOST": "platform.test",
                         "TENANT_DIRECTORY_REFRESH_SECONDS": 3600})
    worker.extensions["tenant_directory"].all()  # loaded now, stale for an hour
    other = cities["beta"]
    with app.app_context():
        newcomer = create_tenant(f"late-{uuid.uuid4().hex[:6]}", "Late", [
            f"late-{uuid.uuid4().hex[:6]}.test"])
        defer("probe.read_other_city", city=newcomer.slug, other_schema=other.schema)
    run_worker(worker)
    with tenant_context(newcomer, app):
        assert db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor == "probe")).all() == ["probe.denied"]
    worker.extensions["tenant_directory"].close()
