"""Outbound HTTP to addresses that administrators choose (a sign-in provider's issuer, the
Alipay gateway, webhook endpoints): one guard for every form, command and call.

`url_problem(url)` says what is wrong with a URL before it is stored; `session()` is the
requests Session every such call goes through. The rules (`Policy.of(config)`):

- https only in production; http also in development, and in tests to loopback hosts;
- in production no private, loopback, link-local, multicast, reserved or unspecified address,
  unless inside one of OUTBOUND_ALLOWED_NETWORKS (CIDRs);
- the address check runs on what DNS answers at connection time, for the first request and
  every redirect (at most MAX_REDIRECTS), and the socket connects to the very address that
  was checked (TLS still verifies the host name), so a name cannot be re-pointed between the
  check and the connection;
- every request has a connect and a read timeout; proxies from the environment are ignored
  (a proxy would resolve names itself, out of the guard's sight).
"""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from config.settings import Network, parse_networks

MAX_REDIRECTS = 5
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(requests.exceptions.ConnectionError):
    """The guard refused a request (a scheme or address its policy does not allow)."""


class _Refused(Exception):
    """Raised inside urllib3, which would wrap an OSError (and so a requests exception) in
    retries and MaxRetryError; the adapter turns it into OutboundRefused."""


@dataclass(frozen=True)
class Policy:
    """What outbound calls may reach."""
    http: str  # "always", "loopback" (only to loopback addresses) or "never"
    public_only: bool  # refuse addresses that are not global, outside `allowed_networks`
    allowed_networks: tuple[Network, ...] = ()
    timeout: tuple[float, float] = (5.0, 15.0)  # connect, read (seconds)

    @classmethod
    def of(cls, config) -> "Policy":
        env = config["CIVIC_ENV"]
        return cls(http={"development": "always", "test": "loopback"}.get(env, "never"),
                   public_only=env == "production",
                   allowed_networks=parse_networks(config.get("OUTBOUND_ALLOWED_NETWORKS", "")),
                   timeout=(float(config.get("OUTBOUND_CONNECT_TIMEOUT", 5)),
                            float(config.get("OUTBOUND_READ_TIMEOUT", 15))))

    def address_allowed(self, address: Address) -> bool:
        if not self.public_only or any(address in network
                                       for network in self.allowed_networks):
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to: the first DNS answer, if every answer is allowed (so a
        name with one public and one private address is refused whichever would be used).
        socket.gaierror when the name does not resolve."""
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(answer[4][0].split("%")[0]) for answer in answers]
        refused = [address for address in addresses if not self.address_allowed(address)]
        if refused:
            raise _Refused(f"{host} resolves to {refused[0]}, which outbound calls may not "
                           "reach (see OUTBOUND_ALLOWED_NETWORKS)")
        return str(addresses[0])

    def scheme_problem(self, scheme: str, host: str, port: int) -> str | None:
        """Why this scheme may not be used with this host, in English; None if it may."""
        if scheme == "https" or (scheme == "http" and self.http == "always"):
            return None
        if scheme == "http" and self.http == "loopback":
            try:
                answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                answers = []
            if answers and all(ipaddress.ip_address(answer[4][0].split("%")[0]).is_loopback
                               for answer in answers):
                return None
        return f"{scheme}:// is not allowed here; use https://"


def policy() -> Policy:
    """The current app's policy."""
    return Policy.of(current_app.config)


def _parts(url: str):
    """(scheme, host, port) of an absolute http(s) URL without credentials, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password is not None or any(ord(c) < 33 for c in url):
        return None
    return parts.scheme, parts.hostname, port


def url_problem(url: str, rules: Policy | None = None) -> str | None:
    """What is wrong with `url` as a destination of outbound calls, in the current locale
    (one sentence that says what to enter), or None. Names are resolved once, here, so an
    administrator hears at once of a name that points inside the network; a name that does
    not resolve yet is accepted (calls are checked again when they are made)."""
    rules = rules or policy()
    parts = _parts(url)
    if parts is None:
        return _("Enter a full URL that starts with https://, such as https://example.org/, "
                 "without a user name or password.")
    scheme, host, port = parts
    if rules.scheme_problem(scheme, host, port):
        return _("Enter an https:// URL: plain http:// is allowed only in development.")
    if not rules.public_only:
        return None
    try:
        rules.resolve(host, port)
    except _Refused:
        return _("This address is inside a private, loopback, link-local or reserved network, "
                 "which the platform does not call. Enter a public address.")
    except (socket.gaierror, UnicodeError):
        pass
    return None


def _guarded(connection_class, rules: Policy):
    class GuardedConnection(connection_class):
        def _new_conn(self):
            # Connect to the address that was checked; self.host (the name) stays for the
            # Host header, SNI and certificate matching.
            try:
                address = rules.resolve(self._dns_host, self.port)
            except socket.gaierror:
                return super()._new_conn()  # urllib3 reports the name that does not resolve
            name, self._dns_host = self._dns_host, address
            try:
                return super()._new_conn()
            finally:
                self._dns_host = name

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    """Checks the scheme of every request (each redirect is one) and the address of every new
    connection, and gives every request the policy's timeouts unless it has its own."""

    def __init__(self, rules: Policy):
        self.rules = rules
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _guarded(HTTPConnection, self.rules)})
        https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _guarded(HTTPSConnection, self.rules)})
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    def send(self, request, timeout=None, **kwargs):
        parts = _parts(request.url)
        problem = "not an absolute http(s) URL" if parts is None else \
            self.rules.scheme_problem(*parts)
        if problem:
            raise OutboundRefused(f"{request.url}: {problem}", request=request)
        try:
            return super().send(request, timeout=timeout or self.rules.timeout, **kwargs)
        except _Refused as refused:
            raise OutboundRefused(str(refused), request=request) from None


def guard(session: requests.Session, rules: Policy | None = None) -> requests.Session:
    """Put a requests Session (or a library's subclass of one, such as Authlib's) under the
    guard: the current app's policy, or `rules`."""
    adapter = GuardedAdapter(rules or policy())
    session.trust_env = False  # no proxy or .netrc from the environment
    session.max_redirects = MAX_REDIRECTS
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def session(rules: Policy | None = None) -> requests.Session:
    """A new session for outbound calls under the current app's policy (or `rules`)."""
    return guard(requests.Session(), rules)
