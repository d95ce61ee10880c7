"""A city as the tests reach it: requests to its own domain, its forms posted with their CSRF
token, its modules and settings set up the way the console saves them, its audit log."""
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.modules import configure, discover, enabled_modules
from app.payments.merchant import configure as payment_settings
from app.payments.models import SANDBOX
from tenants.context import tenant_context
from tenants.db import db
from tests.support.consoles import post_page_form

PASSWORD = "correct horse battery"  # of the accounts the tests make in a city
# What a registration form sends besides its fields: consent to the standard privacy notice.
CONSENT = {"privacy_consent": "y", "privacy_version": "1"}


def host(tenant) -> dict:
    return {"Host": tenant.domains[0]}


def post_form(client, tenant, path, data, page=None):
    """Post `data` to the city's `path` with the CSRF token of `page` (by default `path`)."""
    return post_page_form(client, host(tenant), path, data, page)


def configure_city(app, tenant, **changes) -> None:
    """configure(enable=[...], values={...}) in `tenant`, committed."""
    with tenant_context(tenant, app):
        configure(**changes)
        db.session.commit()


def with_every_module(app, tenant, demo_city="lishui") -> None:
    """Every module enabled in `tenant`, with the demo data `flask demo` gives `demo_city`
    (Lishui's has every module's: hospitals, fines, bills …), and the sandbox payments."""
    with tenant_context(tenant, app):
        configure(enable=sorted(discover()))
        for module in enabled_modules():
            if module.demo is not None:
                module.demo(demo_city)
        payment_settings(provider=SANDBOX)
        db.session.commit()


def audit_entries(app, tenant, action=None) -> list[AuditEntry]:
    with tenant_context(tenant, app):
        query = sa.select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        entries = db.session.scalars(query).all()
        db.session.expunge_all()
        return entries
