"""The jobs of payments: the sandbox's notifications, the sandbox keys of a new city, and the
periodic sweep that settles or expires unfinished payments past their time."""
import sqlalchemy as sa

from app.payments import merchant, service
from app.payments.models import SANDBOX, UNFINISHED, Payment
from tenants.db import db
from tenants.jobs import ask_active_cities, city_task, defer, defer_for_city, platform_task
from tenants.signals import tenant_created

SANDBOX_NOTIFY = "payments.sandbox_notify"
EXPIRE = "payments.expire"
PREPARE_CITY = "payments.prepare_city"


@city_task(SANDBOX_NOTIFY, queue="payments", retry=3)
def sandbox_notify(params: dict) -> bool:
    """The sandbox's asynchronous notification, through the same code as Alipay's."""
    accepted = service.receive_notification(SANDBOX, params)
    db.session.commit()
    return accepted


@city_task(PREPARE_CITY, queue="payments")
def prepare_city() -> None:
    """Make the city's merchant row and sandbox keys now rather than at its first payment."""
    merchant.account()
    db.session.commit()


@city_task(EXPIRE, queue="payments")
def expire() -> int:
    return service.expire_due()


@platform_task("payments.expire_due", cron="* * * * *", queue="payments")
def expire_due() -> int:
    """Ask every active city with unfinished payments past their time to settle or expire
    them; returns how many cities were asked."""
    # A repeat is harmless: the city job skips payments another one holds.
    return ask_active_cities(_past_their_time, lambda: defer_for_city(EXPIRE))


def _past_their_time() -> bool:
    """Whether the bound city has unfinished payments past their time."""
    return db.session.scalar(sa.select(sa.exists().where(
        Payment.status.in_(UNFINISHED), Payment.expires_at <= service.now())))


@tenant_created.connect
def _prepare_new_city(app, tenant, **_kwargs) -> None:
    if app.config.get("PAYMENTS_KEYS_AT_PROVISIONING", True):
        defer(PREPARE_CITY, city=tenant.slug)  # key generation takes a while: not in provisioning
