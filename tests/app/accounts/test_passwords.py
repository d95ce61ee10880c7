"""Every form that sets a password refuses common and patterned ones (zxcvbn, offline), in
English and in Chinese."""
import re

import pytest

from tests.app.platform.conftest import PLATFORM
from tests.conftest import form_token
from tests.support.accounts import add_citizen
from tests.support.cities import CONSENT, PASSWORD, post_form

WEAK = ["password1234", "1234567890", "qwertyuiop", "woaini1314520", "iloveyou123"]
ENGLISH = "too easy to guess"
CHINESE = "太容易被猜到"


@pytest.fixture()
def town(make_city):
    return make_city("pw", locale="en")


def _refused(response, message=ENGLISH) -> bool:
    return response.status_code == 422 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("weak", WEAK)
def test_registration_refuses_common_passwords(client, town, weak):
    assert _refused(post_form(client, town, "/account/register", {
        "email": "weak@example.com", "password": weak, "confirm": weak, **CONSENT}))


def test_a_password_built_on_the_city_or_the_address_is_refused(client, town):
    for weak in (f"{town.slug}123456", "zhangwei@example.com"):
        assert _refused(post_form(client, town, "/account/register", {
            "email": "zhangwei@example.com", "password": weak, "confirm": weak, **CONSENT}))


def test_the_message_is_in_chinese_on_a_chinese_site(client, make_city):
    city = make_city("pwzh", locale="zh_Hans")
    assert _refused(post_form(client, city, "/account/register", {
        "email": "weak@example.com", "password": "password1234", "confirm": "password1234",
        **CONSENT}),
        CHINESE)


def test_change_and_reset_refuse_common_passwords(app, client, town, outbox):
    add_citizen(app, town, "change@example.com")
    post_form(client, town, "/account/login", {"identifier": "change@example.com",
                                                "password": PASSWORD})
    assert _refused(post_form(client, town, "/account/password", {
        "current_password": PASSWORD, "password": "password1234", "confirm": "password1234"}))
    post_form(client, town, "/account/password/forgot", {"identifier": "change@example.com"})
    link = re.search(r"http://\S+", outbox(town.slug)[-1].get_content()).group(0)
    path = link.split(town.domains[0])[1]
    assert _refused(post_form(client, town, path, {"password": "1234567890",
                                                   "confirm": "1234567890"}))


def test_a_new_staff_account_refuses_common_passwords(app, cli, client, town):
    result = cli.invoke(args=["tenants", "invite-admin", town.slug, "new-chief@example.com"])
    path = re.search(r"http://[^/\s]+(/admin/invitation/\S+)", result.output).group(1)
    assert _refused(post_form(client, town, path, {
        "display_name": "Chief", "password": "qwertyuiop", "confirm": "qwertyuiop"}))


def test_vendor_staff_set_password_refuses_common_passwords(cli, client):
    result = cli.invoke(args=["platform", "create-staff", "weak-vendor@example.com"])
    path = re.search(r"http://platform\.test(/\S+)", result.output).group(1)
    token = form_token(client.get(path, headers=PLATFORM))
    response = client.post(path, headers=PLATFORM, data={
        "csrf_token": token, "password": "password1234", "confirm": "password1234"})
    assert _refused(response)
