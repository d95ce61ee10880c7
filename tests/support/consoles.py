"""Staff of both consoles (a city's /admin, the platform's /console) sign in the same way: a
TOTP secret confirmed for the account, then the password form and the code form of the
console's pages, as a browser fills them in."""
import pyotp

from tests.conftest import form_token


def enrol(second_factor, staff, enrolled=True) -> tuple[str, list[str]]:
    """A new TOTP secret for `staff`; enrolled: confirmed (step 0), with its recovery codes."""
    secret = pyotp.random_base32()
    return secret, second_factor.confirm(staff, secret, step=0) if enrolled else []


def post_page_form(client, headers, path, data, page=None):
    """Post `data` to `path` with the CSRF token of `page` (by default the form's own page)."""
    token = form_token(client.get(page or path, headers=headers))
    return client.post(path, data={"csrf_token": token, **data}, headers=headers)


def sign_in_with_totp(client, headers, console, credentials, secret, code=None):
    """`console`'s password form with `credentials`, then its second factor with `code` (by
    default the secret's current TOTP code): both must let the staff member in."""
    signed_in = post_page_form(client, headers, f"{console}/login", credentials)
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    response = post_page_form(client, headers, f"{console}/2fa",
                              {"code": code or pyotp.TOTP(secret).now()})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
