"""The city's merchant account: which provider it uses, its keys (encrypted with app/crypto.py)
and its payment settings. The sandbox keys are made once per city, by a job after provisioning
or, if that has not run yet, on first use under the row's lock."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_app_context

from app import crypto
from app.payments import signing
from app.payments.errors import PaymentUnavailable
from app.payments.models import ALIPAY, SANDBOX, MerchantAccount
from tenants.context import current_tenant
from tenants.db import TenantSession, db

DEFAULT_ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"


@dataclass(frozen=True)
class Credentials:
    """What a provider client needs, decrypted."""
    app_id: str
    private_key: str  # the merchant's (PEM)
    provider_public_key: str  # the provider's (PEM): its messages are verified with it
    gateway_url: str | None  # None: the built-in sandbox
    seller_id: str | None = None  # Alipay's PID of the merchant: notifications must name it


def account(lock: bool = False) -> MerchantAccount:
    """The city's row, made (with the sandbox keys) if missing; read once per request or job
    unless `lock`ed."""
    cached = g.get("payment_account")
    if not lock and cached is not None and sa.inspect(cached).persistent:
        return cached
    query = sa.select(MerchantAccount).where(MerchantAccount.id == 1)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalar(query)
    if row is None:
        db.session.execute(sa.dialects.postgresql.insert(MerchantAccount)
                           .values(id=1).on_conflict_do_nothing())
        row = db.session.scalar(sa.select(MerchantAccount).where(MerchantAccount.id == 1)
                                .with_for_update().execution_options(populate_existing=True))
    if row.sandbox_merchant_key_encrypted is None:
        if not lock:
            return account(lock=True)
        row.sandbox_merchant_key_encrypted = crypto.encrypt(signing.generate_private_key())
        row.sandbox_gateway_key_encrypted = crypto.encrypt(signing.generate_private_key())
        db.session.flush()
    g.payment_account = row
    return row


@sa.event.listens_for(TenantSession, "after_rollback")
def _forget_account(session) -> None:
    """A rolled-back transaction may have made the row: read it again."""
    if has_app_context():
        g.pop("payment_account", None)


def ready_account() -> MerchantAccount:
    """The account, if its provider can take payments; else PaymentUnavailable."""
    row = account()
    if row.provider == ALIPAY and not (row.alipay_app_id and row.alipay_private_key_encrypted
                                       and row.alipay_public_key_encrypted):
        raise PaymentUnavailable()
    return row


def sandbox_app_id() -> str:
    return f"sandbox-{current_tenant().slug}"[:32]


def credentials(provider: str) -> Credentials:
    row = account()
    if provider == SANDBOX:
        return Credentials(
            app_id=sandbox_app_id(),
            private_key=crypto.decrypt(row.sandbox_merchant_key_encrypted),
            provider_public_key=signing.public_key_of(
                crypto.decrypt(row.sandbox_gateway_key_encrypted)),
            gateway_url=None)
    if not (row.alipay_app_id and row.alipay_private_key_encrypted
            and row.alipay_public_key_encrypted):
        raise PaymentUnavailable()
    return Credentials(
        app_id=row.alipay_app_id,
        private_key=crypto.decrypt(row.alipay_private_key_encrypted),
        provider_public_key=crypto.decrypt(row.alipay_public_key_encrypted),
        gateway_url=row.alipay_gateway_url or DEFAULT_ALIPAY_GATEWAY,
        seller_id=row.alipay_seller_id)


def sandbox_keys() -> tuple[str, str]:
    """The sandbox's side: the key it signs with, and the merchant's public key it checks."""
    row = account()
    return (crypto.decrypt(row.sandbox_gateway_key_encrypted),
            signing.public_key_of(crypto.decrypt(row.sandbox_merchant_key_encrypted)))


def configure(provider: str | None = None, app_id: str | None = None,
              private_key: str | None = None, public_key: str | None = None,
              gateway_url: str | None = None, expiry_minutes: int | None = None,
              seller_id: str | None = None) -> dict:
    """Change the city's account in the current transaction; returns {field: (before, after)}
    of what changed, secrets shown as "set". Keys are checked (ValueError) before storing."""
    row = account(lock=True)
    changes = {}

    def change(name, value, shown=None):
        before = getattr(row, name)
        if value != before:
            changes[name] = (("set" if before else None) if shown else before, shown or value)
            setattr(row, name, value)

    if private_key is not None:
        change("alipay_private_key_encrypted",
               crypto.encrypt(signing.normalized_private_key(private_key)), shown="set")
    if public_key is not None:
        change("alipay_public_key_encrypted",
               crypto.encrypt(signing.normalized_public_key(public_key)), shown="set")
    if app_id is not None:
        change("alipay_app_id", app_id.strip() or None)
    if gateway_url is not None:
        change("alipay_gateway_url", gateway_url.strip() or None)
    if seller_id is not None:
        seller_id = seller_id.strip()
        if seller_id and not (seller_id.isdigit() and seller_id.startswith("2088")
                              and len(seller_id) == 16):
            raise ValueError("an Alipay seller ID (PID) is 16 digits starting with 2088")
        change("alipay_seller_id", seller_id or None)
    if expiry_minutes is not None:
        change("expiry_minutes", expiry_minutes)
    if provider is not None:
        if provider == ALIPAY and not (row.alipay_app_id and row.alipay_private_key_encrypted
                                       and row.alipay_public_key_encrypted):
            raise ValueError("Alipay needs an app id, a private key and the Alipay public key")
        change("provider", provider)
    db.session.flush()
    return changes
