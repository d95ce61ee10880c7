"""Payments through the sandbox: how many are created and settled per second with concurrent
clients, and whether the money adds up afterwards.

In a scratch database, one city with traffic fines and utility bills enabled and --items fines
and --items bills, and one citizen who pays them all. --clients threads, each a browser of that
citizen signed in through the city's sign-in form (a session of its own), pay them through the
sandbox as a browser does:

    request_payment in this process (what the fine's or the bills' pay button does) and commit,
    GET /payments/<ref>, POST …/pay, GET the sandbox checkout, POST "approve",
    GET …/return (settles by alipay.trade.query: signed request, signed answer).

The browsers are Flask test clients (the whole app, in this process) by default; with --http,
real HTTP clients of gunicorn started as production starts it (config/gunicorn.py: gevent, 2
workers). With --profile: one test client, one tab per item, the flow above under
_common.Profiler, and where its time goes printed (this process's CPU by layer, the SQL
statements' time).

Half the payments are one fine, half are two bills of an account in one payment. Each item is
paid by two clients at once (two tabs, different idempotency keys): one payment must result.

Afterwards, the sandbox's asynchronous notifications (queued, one per approval) are delivered by a
worker; they come after the query settled each payment, so they must change nothing. Checked:
the sum of successful payments equals the sum recorded as paid on fines and bills (paid_fen),
every item is paid once, and the notifications added no event.

    .venv/bin/python bench/payments.py [--clients 8] [--items 200] [--http | --profile]
"""
import argparse
import contextlib
import os
import secrets
import statistics
import threading
import time
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlsplit

import _common
import sqlalchemy as sa

from app.accounts.models import User
from app.modules import configure
from app.modules.traffic_fines.models import TrafficFine
from app.modules.utility_bills.models import UtilityAccount, UtilityBill
from app.payments import AlreadyPaid, PaymentInProgress, PaymentItemRequest, request_payment
from app.payments.models import SUCCESS, Payment, PaymentEvent
from tenants.context import tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant
from tests.support.accounts import add_citizen

PAYER = "payer@paybench.test"


def seed(tenant, items: int) -> list[tuple[str, list[tuple[int, int]]]]:
    """The fines and bills to pay: [(kind, [(item_id, amount_fen)…])…]."""
    with tenant_context(tenant):
        configure(enable=["traffic_fines", "utility_bills"])
        fines = [TrafficFine(ticket_number=f"T{i:06d}", plate_number=f"浙K{i:05d}",
                             offence="Speeding", place="Road", occurred_at=datetime.now(UTC),
                             amount_fen=10_000 + i, due_date=date(2099, 1, 1))
                 for i in range(items)]
        accounts = [UtilityAccount(account_number=f"A{i:06d}", kind="water",
                                   holder_surname="wang") for i in range(items // 2)]
        db.session.add_all(fines + accounts)
        db.session.flush()
        bills = [UtilityBill(bill_number=f"B{i:06d}", account_number=f"A{i // 2:06d}",
                             period="2026-10", amount_fen=3_000 + i, due_date=date(2099, 1, 1))
                 for i in range(items // 2 * 2)]
        db.session.add_all(bills)
        db.session.commit()
        work = [("traffic_fine", [(fine.id, fine.amount_fen)]) for fine in fines]
        work += [("utility_bill", [(a.id, a.amount_fen), (b.id, b.amount_fen)])
                 for a, b in zip(bills[::2], bills[1::2], strict=True)]
    return work


def pay(app, tenant, browser, payer_id, kind, pairs) -> tuple[str, bool]:
    """The citizen paying in one browser (_common's): (reference, whether this browser made
    the payment)."""
    with tenant_context(tenant, app):
        try:
            payment = request_payment(
                kind=kind, description=f"{kind} {pairs[0][0]}",
                user=db.session.get(User, payer_id),
                items=[PaymentItemRequest(item_id, fen, f"{kind} {item_id}")
                       for item_id, fen in pairs], idempotency_key=secrets.token_hex(12))
        except (PaymentInProgress, AlreadyPaid) as error:  # the other tab's: it pays
            payment = error.payment
        reference, fresh = payment.reference, payment.status == "created"
        db.session.commit()
    page = browser.get(f"/payments/{reference}")
    if not fresh or '/pay"' not in page.text:
        return reference, False
    to_provider = browser.post(f"/payments/{reference}/pay",
                               {"csrf_token": _common.CSRF.search(page.text).group(1)})
    if to_provider.status != 303 or "sandbox" not in to_provider.location:
        return reference, False
    checkout = browser.get(to_provider.location)
    token = _common.CSRF.search(checkout.text)
    if token is None:  # another tab paid first: the cashier rightly shows no form
        return reference, False
    back = browser.post("/payments/sandbox/gateway", {
        **dict(parse_qsl(urlsplit(to_provider.location).query)), "decision": "approve",
        "csrf_token": token.group(1)})
    if browser.get(back.location).status >= 400:
        raise SystemExit(f"the return page of {reference} failed")
    return reference, True


def totals(tenant) -> dict:
    with tenant_context(tenant):
        paid = db.session.execute(sa.select(sa.func.count(), sa.func.coalesce(
            sa.func.sum(Payment.amount_fen), 0)).where(Payment.status == SUCCESS)).one()
        fines = db.session.execute(sa.select(sa.func.count(TrafficFine.paid_at), sa.func.coalesce(
            sa.func.sum(TrafficFine.paid_fen), 0))).one()
        bills = db.session.execute(sa.select(sa.func.count(UtilityBill.paid_at), sa.func.coalesce(
            sa.func.sum(UtilityBill.paid_fen), 0))).one()
        return {"payments": paid[0], "paid_fen": paid[1], "fines": fines[0], "bills": bills[0],
                "items_fen": fines[1] + bills[1],
                "events": db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent)),
                "unfinished": db.session.scalar(sa.select(sa.func.count()).where(
                    Payment.status != SUCCESS))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=200, help="fines, and as many bills")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--http", action="store_true", help="through gunicorn, over real HTTP")
    how.add_argument("--profile", action="store_true",
                     help="in process under cProfile (forces --clients 1)")
    args = parser.parse_args()
    if args.profile:
        args.clients = 1
    with _common.scratch_app("payments") as scratch, contextlib.ExitStack() as server:
        app = scratch.app
        tenant = create_tenant("paybench", "Pay bench", ["paybench.test"])
        jobs = seed(tenant, args.items)
        tabs = 1 if args.profile else 2  # profiled: one tab each, every block is a payment
        work = [job for job in jobs for _tab in range(tabs)]
        with tenant_context(tenant):
            from app.payments import merchant

            merchant.account()  # the sandbox keys, as the job after provisioning makes them
            db.session.commit()
        payer_id = add_citizen(app, tenant, PAYER)
        gunicorn_pid = None
        if args.http:
            port, gunicorn_pid = server.enter_context(_common.production_server(scratch))
            browsers = [_common.HttpBrowser(port, tenant.domains[0]) for _ in range(args.clients)]
        else:
            browsers = [_common.InProcessBrowser(app, tenant.domains[0])
                        for _ in range(args.clients)]
        for browser in browsers:
            _common.sign_in(browser, PAYER)
        queue, lock, latencies, made = list(work), threading.Lock(), [], set()
        profiler = _common.Profiler(db.engine) if args.profile else None

        def client_loop(browser):
            while True:
                with lock:
                    if not queue:
                        return
                    kind, pairs = queue.pop()
                started = time.perf_counter()
                with profiler or contextlib.nullcontext():
                    reference, paid = pay(app, tenant, browser, payer_id, kind, pairs)
                if paid:
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        made.add(reference)

        threads = [threading.Thread(target=client_loop, args=(browser,)) for browser in browsers]
        processes = {"gunicorn (master and 2 workers)": gunicorn_pid,
                     "PostgreSQL (every process of the server)": _common.postmaster_pid(),
                     "this process (the clients; in process also the app)": os.getpid()}
        with _common.cpu_used(processes) as cpu:
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        server.close()  # gunicorn stops before the worker runs, so as not to share the CPUs
        before = totals(tenant)
        from tests.conftest import run_worker

        delivery_started = time.perf_counter()
        run_worker(app)  # the sandbox's notifications, all late: they change nothing
        delivery = time.perf_counter() - delivery_started
        after = totals(tenant)

    stats = _common.percentiles(latencies)
    where = ("through gunicorn (2 gevent workers), real HTTP" if args.http
             else "Flask test clients in process")
    _common.print_table(
        f"Sandbox payments {where}, {args.clients} concurrent clients, {len(work)} attempts "
        f"({len(jobs)} items or item pairs, each by {tabs} tabs at once)",
        ["measured", "value"],
        [["payments created and settled", len(made)],
         ["wall time", f"{elapsed:.2f} s"],
         ["payments per second", f"{len(made) / elapsed:.1f}"],
         ["one payment, p50 (6 requests)", _common.ms(stats["p50"])],
         ["one payment, p95", _common.ms(stats["p95"])],
         ["one payment, mean", _common.ms(statistics.fmean(latencies))],
         ["notifications delivered by one worker", f"{delivery:.2f} s"]])
    _common.print_table("CPU used while the clients ran", [
        "process", "CPU seconds", "cores busy", "CPU per payment made"],
        [[name, f"{seconds:.1f}", f"{seconds / elapsed:.2f}", _common.ms(seconds / len(made))]
         for name, seconds in cpu.items()])
    _common.print_table("Money check", ["", "after the clients", "after the notifications"], [
        ["successful payments", before["payments"], after["payments"]],
        ["sum of successful payments (fen)", before["paid_fen"], after["paid_fen"]],
        ["sum paid on fines and bills (fen)", before["items_fen"], after["items_fen"]],
        ["fines paid / bills paid", f"{before['fines']} / {before['bills']}",
         f"{after['fines']} / {after['bills']}"],
        ["payment events", before["events"], after["events"]],
        ["payments not successful", before["unfinished"], after["unfinished"]]])
    expected = len(jobs)
    checks = {
        f"one payment per item ({tabs} tabs each)": after["payments"] == expected == len(made),
        "sum of payments = sum paid on items": after["paid_fen"] == after["items_fen"],
        "every item paid once": after["fines"] + after["bills"] == args.items + args.items // 2 * 2,
        "late notifications changed nothing": after == before,
    }
    for name, passed in checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
    if profiler is not None:
        profiler.close()
        profiler.print("One payment (its creation and 6 requests)")
    _common.describe_run()
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
