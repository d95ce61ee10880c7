"""Accounts in a city: staff (with a confirmed TOTP secret unless told otherwise) and citizens,
made in the database, and signed in through the city's pages as a browser does; vendor staff
of the platform console."""
import itertools
from datetime import UTC, datetime

from app.accounts import hash_password
from app.accounts.models import User
from app.platform.auth import platform_second_factor
from app.staff import staff_second_factor
from app.staff.models import StaffMember
from tenants.context import tenant_context
from tenants.db import db
from tenants.models import PLATFORM_ADMIN, PlatformStaff
from tests.support.cities import PASSWORD, host, post_form
from tests.support.consoles import enrol, sign_in_with_totp

VENDOR_PASSWORD = "vendor staff passphrase"
_vendors = itertools.count(1)


def add_staff(app, tenant, email, role="admin", modules=(), enrolled=True, active=True,
              accepted_privacy=True):
    """An account on the staff; enrolled: with a confirmed TOTP secret; accepted_privacy: the
    city's privacy notice accepted since the invitation (which records none). Returns a dict
    with user_id, staff_id, secret and recovery codes."""
    with tenant_context(tenant, app):
        user = User(email=email, password_hash=hash_password(PASSWORD),
                    **(consented() if accepted_privacy else {}))
        db.session.add(user)
        db.session.flush()
        staff = StaffMember(user_id=user.id, role=role, modules=list(modules), active=active)
        db.session.add(staff)
        db.session.flush()
        secret, codes = enrol(staff_second_factor, staff, enrolled)
        db.session.commit()
        return {"user_id": user.id, "staff_id": staff.id, "secret": secret, "codes": codes,
                "email": email}


def add_vendor(app, role=PLATFORM_ADMIN, enrolled=True) -> dict:
    """Vendor staff of the platform console (enrolled: with a confirmed TOTP secret): a dict
    with id, email, password, secret and recovery codes."""
    email = f"vendor{next(_vendors)}@civiccloud.test"
    with app.app_context():
        staff = PlatformStaff(email=email, role=role, password_hash=hash_password(VENDOR_PASSWORD))
        db.session.add(staff)
        db.session.flush()
        secret, codes = enrol(platform_second_factor, staff, enrolled)
        db.session.commit()
        return {"id": staff.id, "email": email, "password": VENDOR_PASSWORD, "secret": secret,
                "codes": codes}


def consented() -> dict:
    """What registration records on an account: the standard privacy notice accepted, now."""
    return {"privacy_version": 1, "privacy_accepted_at": datetime.now(UTC)}


def add_citizen(app, tenant, email) -> int:
    with tenant_context(tenant, app):
        user = User(email=email, password_hash=hash_password(PASSWORD), **consented())
        db.session.add(user)
        db.session.commit()
        return user.id


def signed_in_citizen(app, client, tenant, email) -> int:
    """A new citizen (add_citizen) signed in on the city's own sign-in page; returns the id."""
    user_id = add_citizen(app, tenant, email)
    response = post_form(client, tenant, "/account/login",
                         {"identifier": email, "password": PASSWORD})
    assert response.status_code == 302
    return user_id


def sign_in_to_admin(client, tenant, email, password=PASSWORD, next_path=None):
    path = "/admin/login" + (f"?next={next_path}" if next_path else "")
    return post_form(client, tenant, path, {"identifier": email, "password": password},
                     page="/admin/login")


def sign_in_with_2fa(client, tenant, member, code=None):
    return sign_in_with_totp(client, host(tenant), "/admin",
                             {"identifier": member["email"], "password": PASSWORD},
                             member["secret"], code)


def signed_in_staff(app, client, tenant, email="boss@example.com", role="admin", modules=(),
                    accepted_privacy=True):
    """A new staff member (add_staff) signed in with `client`; returns the member."""
    member = add_staff(app, tenant, email, role=role, modules=modules,
                       accepted_privacy=accepted_privacy)
    sign_in_with_2fa(client, tenant, member)
    return member


def texts(outbox_dir, tenant) -> list[str]:
    """The text messages (SMS) sent for the city so far, oldest first."""
    folder = outbox_dir / tenant.slug
    paths = sorted(folder.glob("sms-*.txt"), key=lambda p: p.stat().st_mtime_ns) if (
        folder.exists()) else []
    return [path.read_text(encoding="utf-8") for path in paths]


def last_code(outbox_dir, tenant) -> str:
    """The 6-digit code of the latest text message."""
    import re

    return re.search(r"\b(\d{6})\b", texts(outbox_dir, tenant)[-1]).group(1)
