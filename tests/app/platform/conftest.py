"""Vendor staff of the platform console: accounts made straight in the database, and signing
in with password and TOTP through the console's own pages."""
import itertools

import pytest

from app.accounts import hash_password
from app.platform.auth import platform_second_factor
from tenants.db import db
from tenants.models import PLATFORM_ADMIN, PlatformStaff
from tests.support.consoles import enrol, post_page_form, sign_in_with_totp

PASSWORD = "vendor staff passphrase"
PLATFORM = {"Host": "platform.test", "Accept-Language": "en"}
_emails = itertools.count(1)


@pytest.fixture()
def make_vendor(app):
    """make_vendor(role="admin", enrolled=True) -> dict(id, email, secret, codes)."""
    def make(role=PLATFORM_ADMIN, enrolled=True):
        email = f"vendor{next(_emails)}@civiccloud.test"
        with app.app_context():
            staff = PlatformStaff(email=email, role=role, password_hash=hash_password(PASSWORD))
            db.session.add(staff)
            db.session.flush()
            secret, codes = enrol(platform_second_factor, staff, enrolled)
            db.session.commit()
            return {"id": staff.id, "email": email, "secret": secret, "codes": codes}

    return make


def post_platform(client, path, data, page=None):
    return post_page_form(client, PLATFORM, path, data, page)


def sign_in_vendor(client, vendor, password=PASSWORD):
    return post_platform(client, "/console/login",
                         {"email": vendor["email"], "password": password})


def sign_in_vendor_with_2fa(client, vendor):
    return sign_in_with_totp(client, PLATFORM, "/console",
                             {"email": vendor["email"], "password": PASSWORD}, vendor["secret"])


@pytest.fixture()
def vendor_admin(make_vendor, client):
    vendor = make_vendor(PLATFORM_ADMIN)
    sign_in_vendor_with_2fa(client, vendor)
    return vendor
