"""docs/api.md's walkthrough against `make run`'s demo city Lishui: register a public app,
sign a citizen in with PKCE, read their profile and messages, book a hospital appointment and
list their bookings, pay a demo traffic fine through the sandbox and read its receipt, receive
the payment's webhook and verify its signature, then refresh the token and revoke it.

Run from the repository root while `make run` serves:
    PYTHONPATH=. .venv/bin/python docs/examples/api_walkthrough.py
You approve the consent page and the sandbox's checkout in your browser, signed in to Lishui.
With --sign-in EMAIL PASSWORD (an account registered at /account/register) the script does
both itself, as the browser would. --base names another address (e.g. `PORT=5071 make run`).
The webhook comes from `make run`'s job worker to a receiver this script runs on 127.0.0.1.
"""
import argparse
import base64
import hashlib
import hmac
import html
import http.server
import json
import queue
import re
import secrets
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from functools import cache
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests

REDIRECT_URI = "com.example.cityapp:/callback"
SCOPES = "profile:read notifications:read bookings:read bookings:write payments:read " \
         "payments:write"
# The demo city's fines (app/modules/traffic_fines/demo.py): each can be paid once.
DEMO_FINES = [("浙K12345", "33110001"), ("浙K12345", "33110002"), ("浙KA8888", "33110003")]
SAMPLE_ID_NUMBER = "11010519491231002X"  # a valid sample resident ID card number
WEBHOOK_WAIT_SECONDS = 60  # the worker sends at once; its sweep retries every minute


class City:
    """HTTP to the city's host. Names under .localhost are the loopback (RFC 6761): browsers
    know it, not every resolver, so those requests go to 127.0.0.1 with the city's Host."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host = parts.netloc
        loopback = parts.hostname.endswith(".localhost")
        self.origin = urlunsplit((parts.scheme, f"127.0.0.1:{parts.port or 80}" if loopback
                                  else parts.netloc, "", "", ""))
        self.browser = requests.Session()  # the citizen's browser: its cookies
        self.browser.headers["Host"] = self.host

    def url(self, address: str) -> str:
        """`address` (a path, or a link of the city's) as this script reaches it."""
        parts = urlsplit(address)
        return self.origin + parts.path + (f"?{parts.query}" if parts.query else "")

    def api(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Host": self.host, "Accept-Language": "en", **kwargs.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=headers, timeout=10, **kwargs)

    def page(self, method: str, address: str, **kwargs):
        """The browser: no redirect followed (the caller reads where it leads)."""
        return self.browser.request(method, self.url(address), allow_redirects=False,
                                    timeout=10, **kwargs)


def csrf_token(page) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


@cache
def _app():
    from app import create_app
    return create_app()


@contextmanager
def as_city_admin():
    """What a city administrator does in the console (API apps, Webhooks), done here in the
    city directly, with the same functions; committed at the end."""
    from tenants.context import tenant_context
    from tenants.db import db

    with tenant_context("lishui", _app()):
        yield "user:0:walkthrough"  # the audit log's actor
        db.session.commit()


def register_app() -> str:
    from app.oauth.clients import register_client

    with as_city_admin() as actor:
        client, _secret = register_client("Walkthrough app", "public", [REDIRECT_URI],
                                          SCOPES.split(), actor)
        return client.client_id


def verify(secret: str, signature_header: str, body: bytes, tolerance: int = 300) -> bool:
    """Whether a webhook is the city's (docs/webhooks.md): HMAC-SHA256 of "<t>.<body>" with
    the endpoint's secret, sent at most `tolerance` seconds ago (so it cannot be replayed).
    After the city rotates the secret a message carries a v1 for each secret: one must match."""
    fields = [part.partition("=")[::2] for part in signature_header.split(",")]
    timestamps = [value for name, value in fields if name == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in fields if name == "v1")


class WebhookReceiver(http.server.BaseHTTPRequestHandler):
    """The city's own system: keeps each POST's signature header and raw body, answers 204."""
    received = queue.Queue()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((self.headers["CivicCloud-Signature"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet: the script prints what it received
        pass


def start_receiver() -> str:
    """Serve WebhookReceiver on a free loopback port in a thread; its URL."""
    server = http.server.HTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/civiccloud-events"


def add_webhook(url: str) -> tuple[int, str]:
    """Register `url` for payment.received; (the endpoint's id, its signing secret)."""
    from app.webhooks.endpoints import create_endpoint

    with as_city_admin() as actor:
        endpoint, secret = create_endpoint(actor, url=url, description="API walkthrough",
                                           events=["payment.received"])
        return endpoint.id, secret


def remove_webhook(endpoint_id: int) -> None:
    from app.webhooks.endpoints import delete_endpoint
    from app.webhooks.models import WebhookEndpoint
    from tenants.db import db

    with as_city_admin() as actor:
        delete_endpoint(db.session.get(WebhookEndpoint, endpoint_id), actor)


def receive_webhook(secret: str) -> None:
    try:
        signature, body = WebhookReceiver.received.get(timeout=WEBHOOK_WAIT_SECONDS)
    except queue.Empty:
        print(f"9. No webhook within {WEBHOOK_WAIT_SECONDS} s: is `make run`'s job worker "
              "running? Its deliveries are on the console's Webhooks page.")
        return
    print("9. Webhook, signature", "valid:" if verify(secret, signature, body) else "INVALID:",
          json.loads(body))


def sign_in(city: City, authorize: str, credentials: list[str] | None) -> str:
    """The address the consent page sends the browser to (with the code)."""
    if not credentials:
        print("1. Sign in to Lishui in your browser, then open and allow:")
        print(f"   {authorize}")
        return input("2. Paste the address the browser was sent to (com.example.cityapp:/…): ")
    login = city.page("GET", "/account/login")
    city.page("POST", "/account/login", data={"csrf_token": csrf_token(login),
                                              "identifier": credentials[0],
                                              "password": credentials[1]})
    consent = city.page("GET", authorize)
    if consent.status_code != 200:
        sys.exit(f"signing in failed (the consent page answered {consent.status_code})")
    allowed = city.page("POST", authorize, data={"csrf_token": csrf_token(consent),
                                                 "allow": "1"})
    print("1-2. Signed in as", credentials[0], "and allowed the app")
    return allowed.headers["Location"]


def book_and_list(city: City, token: str) -> None:
    hospitals = city.api("GET", "/api/v1/appointments/hospitals", token).json()
    department = hospitals[0]["departments"][0]
    slots = city.api("GET", f"/api/v1/appointments/departments/{department['id']}/slots",
                     token).json()
    free = next(slot for slot in slots if slot["free"])
    booked = city.api("POST", "/api/v1/appointments/bookings", token, json={
        "department_id": department["id"], "starts_at": free["starts_at"],
        "patient_name": "Zhang San", "id_number": SAMPLE_ID_NUMBER, "phone": "13812345678"},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    answer = booked.json()
    print(f"5. Booking {department['name']} at {free['starts_at']}:", booked.status_code,
          answer.get("reference") or answer.get("detail"))
    bookings = city.api("GET", "/api/v1/appointments/bookings?status=booked", token)
    print("6. Bookings:", [(b["reference"], b["starts_at"], b["department"])
                           for b in bookings.json()], "of", bookings.headers["X-Total-Count"])


def approve_in_the_sandbox(city: City, checkout_url: str) -> None:
    """What the citizen does in the browser: Pay on the payment's page, then Approve."""
    page = city.page("GET", checkout_url)
    to_provider = city.page("POST", checkout_url + "/pay", data={"csrf_token": csrf_token(page)})
    checkout = city.page("GET", to_provider.headers["Location"])
    form = next(block for block in re.findall(r"<form.*?</form>", checkout.text, re.S)
                if 'value="approve"' in block)
    fields = {html.unescape(name): html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    back = city.page("POST", "/payments/sandbox/gateway", data=fields)
    city.page("GET", back.headers["Location"])  # back at the city, which asks the sandbox


def pay_a_fine(city: City, token: str, automatic: bool) -> bool:
    """Whether a fine was paid (each demo fine can be paid once)."""
    for plate, ticket in DEMO_FINES:
        asked = city.api("POST", "/api/v1/traffic-fines/payments", token,
                         json={"plate_number": plate, "ticket_number": ticket},
                         headers={"Idempotency-Key": uuid.uuid4().hex})
        if asked.status_code == 201:
            break
        print(f"   fine {ticket}: {asked.status_code} {asked.json()['detail']}")
    else:
        print("7. Every demo fine is paid already")
        return False
    payment = asked.json()
    print(f"7. Paying fine {ticket}: {payment['amount_fen'] / 100:.2f} yuan, checkout at",
          payment["checkout_url"])
    if automatic:
        approve_in_the_sandbox(city, payment["checkout_url"])
    else:
        input("   Open it in your browser, press Pay, then Approve; then press Enter here. ")
    receipt = city.api("GET", f"/api/v1/payments/{payment['reference']}/receipt", token)
    print("8. Receipt:", receipt.status_code, {key: receipt.json().get(key) for key in (
        "receipt_number", "issuer", "description", "amount_fen", "payment_method")})
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://lishui.localhost:5000")
    parser.add_argument("--sign-in", nargs=2, metavar=("EMAIL", "PASSWORD"))
    options = parser.parse_args()
    city = City(options.base)
    client_id = register_app()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(8)
    authorize = "/api/v1/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": SCOPES, "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    answer = sign_in(city, options.base + authorize if not options.sign_in else authorize,
                     options.sign_in)
    query = parse_qs(urlsplit(answer.strip()).query)
    if query.get("state") != [state] or "code" not in query:
        print(f"refused or tampered with: {query}", file=sys.stderr)
        return 1
    token = city.api("POST", "/api/v1/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0],
        "redirect_uri": REDIRECT_URI, "client_id": client_id, "code_verifier": verifier}).json()
    access = token["access_token"]
    print("3. Profile:", city.api("GET", "/api/v1/me", access).json())
    messages = city.api("GET", "/api/v1/me/notifications?page_size=5", access)
    print("4. Messages:", len(messages.json()), "of", messages.headers["X-Total-Count"],
          "| Link:", messages.headers["Link"])
    book_and_list(city, access)
    endpoint_id, secret = add_webhook(start_receiver())
    try:
        if pay_a_fine(city, access, automatic=bool(options.sign_in)):
            receive_webhook(secret)
    finally:
        remove_webhook(endpoint_id)  # so that the next run starts clean
    fresh = city.api("POST", "/api/v1/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": client_id}).json()
    print("10. Refreshed; new refresh token:", fresh["refresh_token"] != token["refresh_token"])
    city.api("POST", "/api/v1/oauth/revoke", data={"token": fresh["refresh_token"],
                                                   "client_id": client_id})
    gone = city.api("GET", "/api/v1/me", fresh["access_token"])
    print("11. After revocation:", gone.status_code, gone.json()["title"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
