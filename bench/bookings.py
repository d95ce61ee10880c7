"""Hospital bookings through gunicorn: how many per second with concurrent citizens, and whether
any slot was overbooked or any booking made twice.

In a scratch database, one city with the appointments module on (a patient may hold 20
upcoming appointments, the one-per-department-and-day rule off, so that the limits refuse
nothing a load test would not mean), one hospital with --departments departments open
08:00-18:00 every day in 10-minute slots of --capacity places each, and gunicorn started as
production starts it (config/gunicorn.py: gevent, 2 workers). --clients citizens, each signed
in through the city's sign-in form with a session of its own over real HTTP (keep-alive),
book as a browser does:

    GET the booking form (its CSRF token and idempotency key), POST it with a patient (a valid
    ID card number of its own), follow the redirect to the confirmation page.

The slots are offered in order, each to its capacity plus one clients (the last of them is
refused: the slot is full), until --places places have been offered. Printed: bookings per
second, the POST's p50/p99, the outcomes; then, counted in the database: overbookings
(appointments held on a slot beyond its capacity), counters that disagree with the
appointments, and duplicates (one account holding a slot twice, one form's key booked twice).

Then the race: --race-rounds times, a slot whose last 5 places are free (15 of 20 booked
beforehand) is booked by --race-clients citizens at once (each has its form loaded; all POSTs
released together). Counted: places taken per round (5 expected) and overbookings (0 expected).

--profile runs the booking flow in process instead (one Flask test client, one attempt per
slot, no gunicorn, no race) with _common.Profiler around each booking POST, and prints where its
time goes: this process's CPU by layer, the SQL statements' time, the top functions and
statements.

    .venv/bin/python bench/bookings.py [--clients 32] [--places 2000] [--race-rounds 10]
    .venv/bin/python bench/bookings.py --profile [--places 300]
"""
import argparse
import contextlib
import html
import itertools
import os
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock

import _common
import sqlalchemy as sa
from flask_babel import force_locale

from app.accounts.models import User
from app.city_time import city_today, city_zone
from app.modules.appointments import booking
from app.modules.appointments.models import (
    BOOKED,
    Appointment,
    Department,
    Hospital,
    Schedule,
    Slot,
)
from app.modules.appointments.views import START_FORMAT
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant
from tests.app.modules.appointments.test_appointments import patient_id
from tests.support.accounts import add_citizen
from tests.support.cities import configure_city

OPENS, CLOSES, SLOT_MINUTES = 8, 18, 10
RACE_CAPACITY, RACE_FREE = 20, 5
PROFILE_SLOTS = 40
HORIZON_DAYS = 12  # of slots used, from tomorrow (the module's default horizon is 14 days)
REFUSED_FULL = "refused: the slot is full"
IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')
BOOK = "/services/appointments/book"
patients = itertools.count()  # each booking its own patient (patient_id repeats every 1,000)
patients_lock = threading.Lock()


@dataclass(frozen=True)
class Attempt:
    department_id: int
    start: str  # the slot's local start, as in the module's links


def set_up_city(app, departments: int, capacity: int):
    """The city, its hospital and the race department; (tenant, [department ids], race id)."""
    tenant = create_tenant("bookbench", "Booking bench", ["bookbench.test"])
    configure_city(app, tenant, enable=["appointments"], values={"appointments": {
        "max_active_per_citizen": 20, "one_per_department_per_day": False}})
    with tenant_context(tenant):
        hospital = Hospital(name="Bench Hospital", name_zh="压测医院")
        wards = [Department(hospital=hospital, name=f"Ward {n}", name_zh=f"科室{n}")
                 for n in range(departments)]
        race = Department(hospital=hospital, name="Race", name_zh="抢号")
        db.session.add_all([hospital, race, *wards])
        db.session.flush()
        db.session.add_all(
            Schedule(department_id=ward.id, weekday=weekday, start_time=clock(OPENS),
                     end_time=clock(CLOSES), slot_minutes=SLOT_MINUTES, capacity=capacity)
            for ward in wards for weekday in range(7))
        db.session.add_all(
            Schedule(department_id=race.id, weekday=weekday, start_time=clock(OPENS),
                     end_time=clock(CLOSES), slot_minutes=SLOT_MINUTES, capacity=RACE_CAPACITY)
            for weekday in range(7))
        db.session.commit()
        return tenant, [ward.id for ward in wards], race.id


def slot_starts(first_day: date, days: int):
    """Every slot's local start from `first_day` on, as the links write it."""
    for day in range(days):
        moment = datetime.combine(first_day + timedelta(days=day), clock(OPENS))
        while moment.hour < CLOSES:
            yield moment.strftime(START_FORMAT)
            moment += timedelta(minutes=SLOT_MINUTES)


def attempts(departments: list[int], capacity: int, places: int, first_day: date
             ) -> list[Attempt]:
    """The slots in order, each offered to capacity + 1 clients, until `places` places."""
    slots = [(department, start) for start in slot_starts(first_day, HORIZON_DAYS)
             for department in departments]
    needed = -(-places // capacity)
    if needed > len(slots):
        raise SystemExit(f"--places: the departments' slots of {HORIZON_DAYS} days hold "
                         f"{len(slots) * capacity} places")
    return [Attempt(department, start) for department, start in slots[:needed]
            for _client in range(capacity + 1)]


def next_patient() -> str:
    with patients_lock:
        return patient_id(next(patients))


def open_form(browser, attempt: Attempt) -> tuple[str, dict]:
    """GET the booking form: its link and the fields to post."""
    link = f"{BOOK}?department={attempt.department_id}&start={attempt.start}"
    form = browser.get(link)
    if form.status != 200:
        raise SystemExit(f"the booking form answered {form.status}: {link}")
    return link, {"csrf_token": _common.CSRF.search(form.text).group(1),
                  "idempotency_key": IDEMPOTENCY_KEY.search(form.text).group(1),
                  "patient_name": "Zhang San", "id_number": next_patient(),
                  "phone": "13812345678"}


def refusals(app) -> dict[str, str]:
    """The refusals a load test meets, by their text in the city's language (zh_Hans)."""
    with app.test_request_context(), force_locale("zh_Hans"):
        return {str(refusal.message): label for refusal, label in (
            (booking.SlotFull, REFUSED_FULL),
            (booking.AlreadyHolding, "refused: the citizen holds this slot already"))}


def outcome_of(answer, known: dict[str, str]) -> str:
    if answer.status == 302:
        return "booked"
    return next((label for text, label in known.items() if html.escape(text) in answer.text),
                f"answered {answer.status}")


def book(browser, attempt: Attempt, known: dict[str, str], profiler=None
         ) -> tuple[str, float]:
    """Form, POST (inside `profiler` if any), confirmation: the outcome and the POST's
    seconds."""
    link, fields = open_form(browser, attempt)
    with profiler or contextlib.nullcontext():
        started = time.perf_counter()
        answer = browser.post(link, fields)
        seconds = time.perf_counter() - started
    outcome = outcome_of(answer, known)
    if outcome == "booked" and browser.get(answer.location).status != 200:
        outcome = "confirmation page failed"
    return outcome, seconds


def run_clients(browsers: list, work: list[Attempt], known: dict[str, str]
                ) -> tuple[Counter, list[float], float]:
    """Each browser in a thread of its own takes the next attempt until none is left: the
    outcomes, the POSTs' seconds and the wall time."""
    queue, lock, outcomes, posts = list(reversed(work)), threading.Lock(), Counter(), []

    def client(browser):
        while True:
            with lock:
                if not queue:
                    return
                attempt = queue.pop()
            outcome, seconds = book(browser, attempt, known)
            with lock:
                outcomes[outcome] += 1
                posts.append(seconds)

    threads = [threading.Thread(target=client, args=(browser,)) for browser in browsers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, posts, time.perf_counter() - started


def race(app, tenant, browsers: list, early: list[int], department_id: int, start: str) -> int:
    """The slot's first places booked in process by the `early` accounts, then every browser
    posts its loaded form at once; how many of them got a place."""
    with tenant_context(tenant, app):
        department = db.session.get(Department, department_id)
        starts_at = datetime.strptime(start, START_FORMAT).replace(tzinfo=city_zone())
        for user_id in early:
            booking.book(db.session.get(User, user_id), department, None, starts_at,
                         booking.Patient("Li Si", next_patient(), "13812345678"), "bench")
        db.session.commit()
    forms = [open_form(browser, Attempt(department_id, start)) for browser in browsers]
    for browser in browsers:
        # Loading the forms takes longer than gunicorn keeps an idle connection (keepalive, 5
        # s): a POST on one it is closing would be reset. Each opens a new one, all at once.
        browser.session.close()
    barrier, answers = threading.Barrier(len(browsers)), []

    def post(browser, link, fields):
        barrier.wait()
        answers.append(browser.post(link, fields).status)

    threads = [threading.Thread(target=post, args=(browser, *form))
               for browser, form in zip(browsers, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers.count(302)


def database_counts(tenant) -> dict:
    """Counted in the city's tables after the runs."""
    with tenant_context(tenant):
        held = (sa.select(Slot.id, Slot.capacity, Slot.booked,
                          sa.func.count(Appointment.id).label("appointments"))
                .join(Appointment, sa.and_(Appointment.slot_id == Slot.id,
                                           Appointment.status == BOOKED), isouter=True)
                .group_by(Slot.id).subquery())
        overbooked = db.session.execute(sa.select(
            sa.func.coalesce(sa.func.sum(sa.func.greatest(held.c.appointments - held.c.capacity,
                                                          0)), 0),
            sa.func.count().filter(held.c.appointments > held.c.capacity),
            sa.func.count().filter(held.c.appointments != held.c.booked))).one()
        twice = (sa.select(Appointment.user_id).where(Appointment.status == BOOKED)
                 .group_by(Appointment.user_id, Appointment.slot_id)
                 .having(sa.func.count() > 1).subquery())
        same_key = (sa.select(Appointment.idempotency_key)
                    .where(Appointment.idempotency_key.is_not(None))
                    .group_by(Appointment.user_id, Appointment.idempotency_key)
                    .having(sa.func.count() > 1).subquery())
        return {
            "appointments booked": db.session.scalar(sa.select(sa.func.count()).where(
                Appointment.status == BOOKED)),
            "overbookings (appointments beyond a slot's capacity)": overbooked[0],
            "slots overbooked": overbooked[1],
            "slot counters that disagree with the appointments": overbooked[2],
            "an account holding one slot twice": db.session.scalar(
                sa.select(sa.func.count()).select_from(twice)),
            "one form's key booked twice": db.session.scalar(
                sa.select(sa.func.count()).select_from(same_key)),
        }


def citizens(app, tenant, count: int, kind: str = "citizen") -> dict[str, int]:
    """New accounts: {email: id}."""
    return {email: add_citizen(app, tenant, email)
            for email in (f"{kind}{n}@bookbench.test" for n in range(count))}


def signed_in(make_browser, emails: list[str]) -> list:
    browsers = []
    for email in emails:
        browser = make_browser()
        _common.sign_in(browser, email)
        browsers.append(browser)
    return browsers


def profile_run(scratch, tenant, departments, options) -> None:
    app, host = scratch.app, tenant.domains[0]
    (email,) = citizens(app, tenant, 1)
    (browser,) = signed_in(lambda: _common.InProcessBrowser(app, host), [email])
    # One client: one attempt per slot (a second would be refused as held already).
    work = attempts(departments, options.capacity, options.places,
                    first_day(tenant))[::options.capacity + 1]
    known = refusals(app)
    for attempt in work[:20]:  # warm-up: templates compiled, statements cached
        book(browser, attempt, known)
    profiler, outcomes, posts = _common.Profiler(db.engine), Counter(), []
    for attempt in work[20:]:
        outcome, seconds = book(browser, attempt, known, profiler)
        outcomes[outcome] += 1
        posts.append(seconds)
    profiler.close()
    print_outcomes(f"In process, one client, {len(posts)} booking POSTs profiled",
                   outcomes, posts, sum(posts), "POST time only")
    profiler.print("Booking POST")


def first_day(tenant) -> date:
    """Tomorrow in the city (today's slots may be past)."""
    with tenant_context(tenant):
        return city_today() + timedelta(days=1)


def print_outcomes(title: str, outcomes: Counter, posts: list[float], elapsed: float,
                   wall: str) -> None:
    cuts = statistics.quantiles(posts, n=100, method="inclusive")
    _common.print_table(title, ["measured", "value"], [
        *([outcome, count] for outcome, count in sorted(outcomes.items())),
        [f"wall time ({wall})", f"{elapsed:.2f} s"],
        ["bookings per second", f"{outcomes['booked'] / elapsed:.1f}"],
        ["attempts per second (form, POST, confirmation or refusal)",
         f"{len(posts) / elapsed:.1f}"],
        ["booking POST p50", _common.ms(cuts[49])],
        ["booking POST p99", _common.ms(cuts[98])],
        ["booking POST max", _common.ms(max(posts))]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent citizens")
    parser.add_argument("--places", type=int, default=2000, help="places offered")
    parser.add_argument("--departments", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=4, help="places per slot")
    parser.add_argument("--race-rounds", type=int, default=10)
    parser.add_argument("--race-clients", type=int, default=50)
    parser.add_argument("--profile", action="store_true",
                        help="in process under cProfile instead (one client, no race)")
    options = parser.parse_args()
    if min(options.clients, options.places, options.departments, options.capacity,
           options.race_clients) < 1 or options.race_rounds < 0:
        parser.error("counts must be positive (--race-rounds may be 0)")
    if options.profile and options.places < PROFILE_SLOTS * options.capacity:
        parser.error(f"--profile needs --places of at least {PROFILE_SLOTS} slots "
                     f"({PROFILE_SLOTS * options.capacity}): 20 to warm up, the rest measured")
    with _common.scratch_app("bookings") as scratch:
        tenant, departments, race_department = set_up_city(scratch.app, options.departments,
                                                           options.capacity)
        if options.profile:
            profile_run(scratch, tenant, departments, options)
            _common.describe_run()
            return
        emails = list(citizens(scratch.app, tenant, max(options.clients, options.race_clients)))
        early = list(citizens(scratch.app, tenant, RACE_CAPACITY - RACE_FREE, "early").values())
        work = attempts(departments, options.capacity, options.places, first_day(tenant))
        with _common.production_server(scratch) as (port, gunicorn_pid):
            browsers = signed_in(lambda: _common.HttpBrowser(port, tenant.domains[0]), emails)
            with _common.cpu_used({"gunicorn (master and 2 workers)": gunicorn_pid,
                                   "PostgreSQL (every process of the server)":
                                       _common.postmaster_pid(),
                                   "the clients (this process)": os.getpid()}) as cpu:
                outcomes, posts, elapsed = run_clients(browsers[:options.clients], work,
                                                       refusals(scratch.app))
            race_starts = itertools.islice(slot_starts(first_day(tenant), 12),
                                           options.race_rounds)
            taken = [race(scratch.app, tenant, browsers[:options.race_clients], early,
                          race_department, start) for start in race_starts]
        counts = database_counts(tenant)

    print_outcomes(f"Bookings through gunicorn (2 gevent workers), {options.clients} "
                   f"concurrent citizens, {len(work)} attempts on slots of "
                   f"{options.capacity} places (each slot offered to {options.capacity + 1})",
                   outcomes, posts, elapsed, "all clients")
    _common.print_table(
        "CPU used while the clients ran (a figure the machine's load changes less than time)",
        ["process", "CPU seconds", "cores busy", "CPU per attempt"],
        [[name, f"{seconds:.1f}", f"{seconds / elapsed:.2f}", _common.ms(seconds / len(work))]
         for name, seconds in cpu.items()])
    if taken:
        _common.print_table(
            f"Race: {options.race_clients} citizens at once for the last {RACE_FREE} places "
            f"of a slot, {len(taken)} rounds", ["measured", "value"],
            [["places taken per round", " ".join(map(str, taken))],
             ["rounds with more than 5 taken", sum(n > RACE_FREE for n in taken)]])
    _common.print_table("Counted in the database afterwards (both runs)", ["count", "value"],
                        [[name, value] for name, value in counts.items()])
    checks = {
        "no overbooking": counts["overbookings (appointments beyond a slot's capacity)"] == 0,
        "counters agree with appointments":
            counts["slot counters that disagree with the appointments"] == 0,
        "no duplicate booking": counts["an account holding one slot twice"] == 0
            == counts["one form's key booked twice"],
        "every race gave exactly its 5 places": all(n == RACE_FREE for n in taken),
        "no error answer": not any(o.startswith("answered") for o in outcomes),
    }
    for name, passed in checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
    _common.describe_run()
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
