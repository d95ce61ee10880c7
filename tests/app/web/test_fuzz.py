"""The fuzz run (issue #15): Hypothesis sends generated hostile values (NUL and other control
characters, right-to-left marks, 10,000-character strings, huge and negative numbers,
impossible dates, wrong types, missing and repeated fields) to every rule of the URL map, as
every kind of visitor of the rule's site, and no answer may be a server error.

The rules are enumerated from `app.url_map` (both sites' maps), so rules added later are fuzzed
with no change here; only EXCLUDED names endpoints left out, each with its reason. Route
parameters are filled by converter; a rule taking POST (or PUT, PATCH, DELETE) gets form data
with a valid CSRF token, under the field names of the page's own form when its GET page has one,
else those of every form of the app, or a JSON body. The API's documented operations are
fuzzed by their OpenAPI document besides (tests/app/api/test_api.py, schemathesis).

Reproducible: each rule and visitor has a fixed seed. The counts are printed at the end of the
run (`fuzz: N rules, M requests`)."""
import itertools
import re
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

import hypothesis
import pytest
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Map
from wtforms.fields.core import UnboundField

from tests.conftest import form_token
from tests.support.accounts import add_vendor, signed_in_citizen, signed_in_staff
from tests.support.cities import host, with_every_module
from tests.support.consoles import sign_in_with_totp

# Endpoints not fuzzed here, and why. Everything else registered is.
EXCLUDED = {
    "static": "Flask's static files: werkzeug's send_from_directory reads the path, no code of "
              "ours",
}
EXAMPLES = {"anonymous": 2, "citizen": 3, "staff": 4, "vendor": 4}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ONE_IN_FOUR = st.sampled_from([False, False, False, True])
ADDRESSES = itertools.count()  # of 198.18.0.0/15, the benchmarking range (RFC 2544)
SPECIMENS = [
    "", " ", "\x00", "a\x00b", "\x01\x08\x1b[31m\x7f\x9f", "\u202etxt.exe", "\u200f\u200e\u061c",
    "\ufeff", "x" * 10_000, "中" * 10_000, "0", "-1", "1", "2", str(2**31), str(2**63 - 1),
    str(2**63), str(2**64), f"-{2**63 + 1}", "9" * 5000, "1e309", "-1e999999", "1E-999999",
    "NaN", "sNaN", "-Infinity", "0.000000001", "0001-01-01", "9999-12-31", "2026-02-30",
    "2026-13-01", "10000-01-01", "-2026-01-01", "2026-01-01T25:61", "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00", "0001-01-01 00:00", "24:00", "99:99", "true", "null", "[]",
    "{}", "../../../etc/passwd", "%00", "%s%n%x", "' OR '1'='1", "<script>alert(1)</script>",
    "１２３", "²", "٣", "¥99999999999999999999.99", "javascript:alert(1)", "//evil.example/",
    "http://127.0.0.1:1/", "\r\nSet-Cookie: x=y", "@", "a@b", "None",
]
TEXT = st.one_of(
    st.sampled_from(SPECIMENS),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=24),
    st.integers().map(str),
    st.dates().map(date.isoformat),
    st.decimals().map(str),
)
# What JSON bodies carry instead of text: the wrong types.
JSON_VALUE = st.one_of(TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(),
                       st.none(), st.lists(TEXT, max_size=3), st.dictionaries(TEXT, TEXT,
                                                                             max_size=2))
BIG_NUMBERS = ["1", "2", "3", str(2**31), str(2**63 - 1), str(2**63), str(2**64), "9" * 40]
PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<arguments>.*?)\))?:)?"
                       r"(?P<name>\w+)>")
FORM_INPUT = re.compile(r'<(?:input|select|textarea|button)\b[^>]*?\bname="([^"]+)"')
LINK_PARAMETER = re.compile(r'href="[^"?]*\?([^"#]+)')


def converter_values(converter: str | None, arguments: str | None):
    if converter == "int":
        return st.one_of(st.sampled_from(BIG_NUMBERS), st.integers(min_value=-5).map(str))
    if converter == "any" and arguments:
        return st.sampled_from(re.findall(r"[\w-]+", arguments))
    safe = "/" if converter == "path" else ""
    return TEXT.filter(bool).map(lambda text: quote(text, safe=safe))


def paths(rule):
    """Strategy: the rule's path with every parameter filled (URL-quoted)."""
    pieces, end = [], 0
    for match in PARAMETER.finditer(rule.rule):
        pieces += [st.just(rule.rule[end:match.start()]),
                   converter_values(match["converter"], match["arguments"])]
        end = match.end()
    pieces.append(st.just(rule.rule[end:]))
    return st.tuples(*pieces).map("".join)


def every_form_field_name() -> set[str]:
    """The field names of every form class of the app."""
    names, classes = set(), [FlaskForm]
    while classes:
        form = classes.pop()
        classes += form.__subclasses__()
        names |= {name for name, value in vars(form).items() if isinstance(value, UnboundField)}
    return names


@dataclass
class Visitor:
    """Who sends the requests: a client (signed in or not) on a site, with its CSRF token."""

    name: str
    headers: dict
    client: FlaskClient | None = None
    sign_in: Callable[[FlaskClient], object] | None = None  # None: an anonymous visitor
    home: str = "/"  # a page a signed-in visitor reaches (200), and one with a form
    token: str = ""

    def start(self, app) -> "Visitor":
        """A new client from an address of its own: throttling counts per address, so the
        run's refusals don't reach other tests' clients (127.0.0.1), or the next sign-in."""
        self.client = app.test_client()
        number = next(ADDRESSES)
        self.client.environ_base["REMOTE_ADDR"] = f"198.18.{number // 250}.{number % 250 + 1}"
        if self.sign_in:
            self.sign_in(self.client)
        self.token = form_token(self.client.get(self.home, headers=self.headers))
        return self

    def still_signed_in(self) -> bool:
        return self.sign_in is None or self.client.get(
            self.home, headers=self.headers).status_code == 200


@dataclass
class Run:
    names: set  # field and query names: every form class's, and those the pages showed so far
    requests: int = 0
    failures: list = field(default_factory=list)

    def send(self, visitor: Visitor, method: str, path: str, headers=(), **options):
        self.requests += 1
        where = f"{visitor.name} {method} {path[:200]!r} {str(options)[:300]}"
        try:
            response = visitor.client.open(path, method=method,
                                           headers={**visitor.headers, **dict(headers)},
                                           **options)
        except Exception:  # noqa: BLE001  TESTING propagates a view's exception: a 500
            self.failures.append(f"{where}\n{traceback.format_exc(limit=-4)}")
            return None
        if response.status_code >= 500:
            self.failures.append(f"{where} -> {response.status_code}")
        return response


def page_field_names(run: Run, visitor: Visitor, path: str) -> list[str]:
    """The names in the forms of the GET page at `path` (a search form's for its GET, an
    entry form's for its POST) and in the query strings of its links."""
    response = run.send(visitor, "GET", path)
    if response is None or response.status_code != 200:
        return []
    page = response.get_data(as_text=True)
    names = set(FORM_INPUT.findall(page))
    for query in LINK_PARAMETER.findall(page):
        names |= {pair.split("=", 1)[0] for pair in query.replace("&amp;", "&").split("&")}
    names -= {"csrf_token", ""}
    run.names |= names
    return sorted(names)


def fuzz_rule(run: Run, visitor: Visitor, rule, examples: int) -> None:
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    has_page = "GET" in methods and not PARAMETER.search(rule.rule)
    own_names = page_field_names(run, visitor, rule.rule) if has_page else []
    fields = own_names or sorted(run.names)
    pairs = st.lists(st.tuples(st.sampled_from(fields), TEXT), max_size=len(own_names) + 4)

    @hypothesis.seed(zlib.crc32(f"{visitor.name} {rule.rule} {rule.endpoint}".encode()))
    @hypothesis.settings(max_examples=examples, deadline=None, database=None,
                         phases=[hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(method=st.sampled_from(methods), path=paths(rule), query=pairs,
                      form=pairs, json_body=st.dictionaries(st.sampled_from(fields), JSON_VALUE,
                                                            max_size=6),
                      as_json=ONE_IN_FOUR, with_token=ONE_IN_FOUR.map(lambda flag: not flag))
    def send(method, path, query, form, as_json, json_body, with_token):
        if method not in BODY_METHODS:
            run.send(visitor, method, path, query_string=query)
        elif as_json:
            run.send(visitor, method, path, json=json_body,
                     headers={"X-CSRFToken": visitor.token})
        else:
            token = [("csrf_token", visitor.token)] if with_token else []
            run.send(visitor, method, path, query_string=query, data=MultiDict(token + form))

    send()


@pytest.fixture()
def fuzz_city(app, make_city):
    """One city for the whole run, with every module enabled and its demo data (hospitals,
    fines, bills …) so that pages answer and small ids find rows."""
    city = make_city("fuzz")
    with_every_module(app, city)
    return city


def city_visitors(app, city) -> list[Visitor]:
    emails = iter(range(1, 1000))

    def citizen(client):
        signed_in_citizen(app, client, city, f"fuzz-citizen-{next(emails)}@example.com")

    def staff(client):  # a new member each time: a TOTP code is accepted only once
        signed_in_staff(app, client, city, email=f"fuzz-staff-{next(emails)}@example.com")

    headers = host(city)
    return [Visitor("anonymous", headers, home="/account/login"),
            Visitor("citizen", headers, sign_in=citizen, home="/account/"),
            Visitor("staff", headers, sign_in=staff, home="/admin/")]


def platform_visitors(app) -> list[Visitor]:
    headers = {"Host": app.config["PLATFORM_HOST"]}

    def vendor(client):
        account = add_vendor(app)
        sign_in_with_totp(client, headers, "/console", {
            "email": account["email"], "password": account["password"]}, account["secret"])

    return [Visitor("anonymous", headers, home="/console/login"),
            Visitor("vendor", headers, sign_in=vendor, home="/console/")]


def site_rules(app) -> dict[str, list]:
    """Every registered rule, by site: the cities' map and the platform host's (rules that
    answer on every site are in both)."""
    return {"city": list(Map.iter_rules(app.url_map)),
            "platform": list(app.url_map.platform.iter_rules())}


def fuzzed_first(rule) -> tuple:
    """Rules that change nothing first: one that signs the visitor out comes as late as it
    can (the visitor is signed in again when it did)."""
    return bool(BODY_METHODS & rule.methods), rule.rule


def test_no_generated_request_gets_a_server_error(app, fuzz_city, record_property):
    run, exercised = Run(names=every_form_field_name()), set()
    started, cpu_started = time.monotonic(), time.process_time()
    rules = site_rules(app)
    visitors = {"city": city_visitors(app, fuzz_city), "platform": platform_visitors(app)}
    for site, site_visitors in visitors.items():
        for visitor in site_visitors:
            visitor.start(app)
        for rule in sorted(rules[site], key=fuzzed_first):
            if rule.endpoint in EXCLUDED:
                continue
            for visitor in site_visitors:
                fuzz_rule(run, visitor, rule, EXAMPLES[visitor.name])
                if BODY_METHODS & rule.methods and not visitor.still_signed_in():
                    visitor.start(app)
            exercised.add((site, rule.rule, rule.endpoint))

    registered = {(site, rule.rule, rule.endpoint) for site, site_rules_ in rules.items()
                  for rule in site_rules_}
    excluded = {key for key in registered if key[2] in EXCLUDED}
    summary = (f"fuzz: {len(exercised)} rules of {len(registered)} registered "
               f"({len(excluded)} excluded), {run.requests} requests, "
               f"{len(run.failures)} server errors, in {time.monotonic() - started:.0f} s "
               f"({time.process_time() - cpu_started:.0f} s of CPU in pytest's process)")
    print(summary)
    record_property("summary", summary)
    assert {key[2] for key in excluded} == set(EXCLUDED), "an excluded endpoint is gone"
    assert exercised == registered - excluded
    assert not run.failures, f"{len(run.failures)} server errors:\n" + "\n".join(
        run.failures[:300])
