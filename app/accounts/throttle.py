"""Throttling what names an account — sign-in, registration, password reset, SMS codes — in the
limiter's shared storage (Redis in production: every worker and machine counts together).

An account's budgets are keyed on its normalised identifier (identifier_key: case, spaces, +86
and dashes make no fresh budget). Failures count per (account, client address): one client
can't guess on, but neither can it lock the owner out, who signs in from elsewhere; a generous
ceiling per account stops many clients together. Each refusal says what to do.
"""
from collections.abc import Callable

from flask import request
from flask_babel import lazy_gettext as _l

from app.accounts import identifier_key
from app.extensions import limiter

PER_CLIENT = "10 per 15 minutes"  # an account's failures from one address
PER_ACCOUNT = "100 per hour"  # an account's failures from everywhere
PER_ADDRESS = "30 per 15 minutes"  # an address's failures, whatever the accounts

CLIENT_MESSAGE = _l("Too many failed attempts for this account from here. Wait 15 minutes, then "
                    "try again; if you have forgotten the password, reset it.")
ACCOUNT_MESSAGE = _l("This account is paused for up to an hour after many failed attempts from "
                     "many places. Try again later; if the attempts were not yours, your "
                     "password has held, and you may still reset it.")
ADDRESS_MESSAGE = _l("Too many failed attempts from your network. Wait 15 minutes, then try "
                     "again.")
REQUESTS_MESSAGE = _l("Too many requests for this account or from your network. Wait an hour, "
                      "then try again; messages already sent still work.")


def typed_identifier(*fields: str) -> Callable[[], str]:
    """The normalised account identifier in the posted form: the first of `fields` filled."""
    def identifier() -> str:
        return identifier_key(next((request.form.get(f) for f in fields if request.form.get(f)),
                                   ""))

    return identifier


def sign_in_throttle(scope: Callable[[], str], identifier: Callable[[], str],
                     failed_status: int = 401):
    """A decorator for a sign-in view (counting POSTs answered `failed_status`): per (account,
    client), per account, per address. `scope()` names whose sign-in it is (a city's site or
    console, the platform)."""
    def failed(response) -> bool:
        return response.status_code == failed_status

    def limit(rate, key, message):
        return limiter.limit(rate, key_func=key, methods=["POST"], deduct_when=failed,
                             error_message=message)

    def client_key() -> str:
        return f"{scope()}:account:{identifier()}:client:{request.remote_addr}"

    def account_key() -> str:
        return f"{scope()}:account:{identifier()}"

    def address_key() -> str:
        return f"{scope()}:address:{request.remote_addr}"

    def decorator(view):
        for rate, key, message in ((PER_CLIENT, client_key, CLIENT_MESSAGE),
                                   (PER_ACCOUNT, account_key, ACCOUNT_MESSAGE),
                                   (PER_ADDRESS, address_key, ADDRESS_MESSAGE)):
            view = limit(rate, key, message)(view)
        return view

    return decorator


def request_throttle(scope: Callable[[], str], identifier: Callable[[], str],
                     per_account: str = "5 per hour", per_address: str = "20 per hour"):
    """A decorator for a view that sends something to an account (a registration, a reset, a
    code): every POST counts, per account (so nobody is flooded with messages) and per
    address."""
    def account_key() -> str:
        return f"{scope()}:requests:{identifier()}"

    def address_key() -> str:
        return f"{scope()}:requests-from:{request.remote_addr}"

    def decorator(view):
        view = limiter.limit(per_account, key_func=account_key, methods=["POST"],
                             error_message=REQUESTS_MESSAGE)(view)
        return limiter.limit(per_address, key_func=address_key, methods=["POST"],
                             error_message=REQUESTS_MESSAGE)(view)

    return decorator
