"""Vendor staff of the platform console: accounts made straight in the database, and signing
in with password and TOTP through the console's own pages."""
import itertools

import pyotp
import pytest

from app.accounts import hash_password
from app.platform.auth import platform_second_factor
from tenants.db import db
from tenants.models import PLATFORM_ADMIN, PlatformStaff
from tests.conftest import form_token

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
            secret, codes = pyotp.random_base32(), []
            if enrolled:
                codes = platform_second_factor.confirm(staff, secret, step=0)
            db.session.commit()
            return {"id": staff.id, "email": email, "secret": secret, "codes": codes}

    return make


def post_platform(client, path, data, page=None):
    token = form_token(client.get(page or path, headers=PLATFORM))
    return client.post(path, data={"csrf_token": token, **data}, headers=PLATFORM)


def sign_in_vendor(client, vendor, password=PASSWORD):
    return post_platform(client, "/console/login",
                         {"email": vendor["email"], "password": password})


def sign_in_vendor_with_2fa(client, vendor):
    assert sign_in_vendor(client, vendor).status_code == 302
    response = post_platform(client, "/console/2fa",
                             {"code": pyotp.TOTP(vendor["secret"]).now()})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.fixture()
def vendor_admin(make_vendor, client):
    vendor = make_vendor(PLATFORM_ADMIN)
    sign_in_vendor_with_2fa(client, vendor)
    return vendor
