"""Vendor staff of the platform console: accounts made straight in the database, and signing
in with password and TOTP through the console's own pages."""
import pytest

from tenants.models import PLATFORM_ADMIN
from tests.support.accounts import VENDOR_PASSWORD as PASSWORD
from tests.support.accounts import add_vendor
from tests.support.consoles import post_page_form, sign_in_with_totp

PLATFORM = {"Host": "platform.test", "Accept-Language": "en"}


@pytest.fixture()
def make_vendor(app):
    """make_vendor(role="admin", enrolled=True) -> dict(id, email, secret, codes)."""
    return lambda role=PLATFORM_ADMIN, enrolled=True: add_vendor(app, role, enrolled)


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
