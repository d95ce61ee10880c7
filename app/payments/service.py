"""Creating payments, moving them between states, settling, refunding and expiring them.

Every change of a payment happens under its row lock (`locked`) and through `transition`, the
one function that checks TRANSITIONS, records a PaymentEvent and, on success, numbers the receipt
and calls the payable's on_paid in the same transaction."""
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import has_request_context, session
from sqlalchemy.orm import selectinload

from app import audit, webhooks
from app.city_time import city_zone
from app.money import fen_of
from app.payments import alerts, merchant
from app.payments.errors import (
    AlreadyPaid,
    AmountMismatch,
    PaymentConflict,
    PaymentError,
    PaymentInProgress,
    PaymentUnavailable,
    RefundRefused,
)
from app.payments.models import (
    CANCELLED,
    CREATED,
    ERROR,
    EXPIRED,
    FAILED,
    FINISHED,
    STARTED,
    SUCCESS,
    TRANSITIONS,
    UNFINISHED,
    MerchantAccount,
    Payment,
    PaymentEvent,
    PaymentItem,
    Refund,
)
from app.payments.providers import provider_for
from tenants.db import db

log = logging.getLogger(__name__)

PAID_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
CLOSED_STATUS = "TRADE_CLOSED"
LATE_PAYMENT = "paid at the provider after the payment had ended: refund it"
LATE_REFUND_REASON = "paid after the payment had ended: refunded automatically"
AMOUNT_MISMATCH = "the provider reports another amount: staff must look into it"
SYSTEM = "system"
SESSION_KEY = "payments"  # references an anonymous browser created or was sent to
SESSION_LIMIT = 20


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Payable:
    """Something a module charges for, declared in its `Module(payables=...)`: the registry
    registers it with `module` (whose staff see its payments) and `available` (no new payment
    while the module is disabled) filled in."""
    kind: str
    on_paid: Callable[[Payment, list[int]], None]
    return_url: Callable[[Payment], str]
    module: str | None = None  # None: the city's administrators only
    available: Callable[[], bool] = _always
    # (payment, refund), in the refund's transaction: money of a successful payment was
    # given back (a late capture's refund is not told: the module never saw it paid).
    on_refunded: Callable[[Payment, Refund], None] | None = None
    # The item's label and the payment's description in the page's language, rendered from
    # the items when shown (None: the record is gone; the text stored at payment time is
    # shown). The stored text stays what the provider was sent.
    item_label: Callable[[int], str | None] | None = None
    description: Callable[[list[int]], str | None] | None = None
    # Loads the records of these item ids at once (a list of payments, described one by one).
    load_records: Callable[[list[int]], object] | None = None


@dataclass(frozen=True)
class PaymentItemRequest:
    item_id: int
    amount_fen: int
    label: str


PAYABLES: dict[str, Payable] = {}


def item_label(item: PaymentItem) -> str:
    """What an item pays for, in the page's language (else as stored)."""
    payable = PAYABLES.get(item.kind)
    label = payable.item_label(item.item_id) if payable and payable.item_label else None
    return label or item.label


def payment_description(payment: Payment) -> str:
    """What a payment pays for, in the page's language: the payable's description of its items,
    else its one item's label, else the description stored when it was made."""
    payable = PAYABLES.get(payment.kind)
    described = None
    if payable is not None and payable.description is not None:
        described = payable.description([item.item_id for item in payment.items])
    elif payable is not None and payable.item_label is not None and len(payment.items) == 1:
        described = payable.item_label(payment.items[0].item_id)
    return described or payment.description


def with_descriptions(payments: Sequence[Payment]) -> Sequence[Payment]:
    """`payments` ready to be described (payment_description, item_label) without a query
    each: their items in one query, the records those pay for in one query per kind."""
    if payments:
        db.session.scalars(sa.select(Payment).where(Payment.id.in_([p.id for p in payments]))
                           .options(selectinload(Payment.items))).all()
        wanted: dict[str, set[int]] = {}
        for payment in payments:
            wanted.setdefault(payment.kind, set()).update(item.item_id for item in payment.items)
        for kind, item_ids in wanted.items():
            payable = PAYABLES.get(kind)
            if payable is not None and payable.load_records is not None:
                payable.load_records(sorted(item_ids))
    return payments


def register_payable(payable: Payable) -> None:
    known = PAYABLES.get(payable.kind)
    if known is not None and known != payable:
        raise ValueError(f"a payable kind {payable.kind!r} is registered twice")
    PAYABLES[payable.kind] = payable


def _module_of(payment: Payment) -> str | None:
    payable = PAYABLES.get(payment.kind)
    return payable.module if payable is not None else None


class IllegalTransition(RuntimeError):
    """A move TRANSITIONS does not allow (a bug: a finished payment never changes)."""


def now() -> datetime:
    return datetime.now(UTC)


# -- access by the citizen's browser -----------------------------------------------------------

def remember_in_session(payment: Payment) -> None:
    """An anonymous payment belongs to the browser session that asked for it."""
    if payment.user_id is None and has_request_context():
        known = [ref for ref in session.get(SESSION_KEY, []) if ref != payment.reference]
        session[SESSION_KEY] = [*known[-(SESSION_LIMIT - 1):], payment.reference]


def may_see(payment: Payment, user) -> bool:
    if payment.user_id is not None:
        return bool(user is not None and user.is_authenticated and user.id == payment.user_id)
    return payment.reference in session.get(SESSION_KEY, [])


# -- creating ------------------------------------------------------------------------------------

def _fingerprint(kind: str, user_id: int | None, items: Sequence[PaymentItemRequest]) -> str:
    canonical = json.dumps({"kind": kind, "user": user_id,
                            "items": sorted((i.item_id, i.amount_fen) for i in items)})
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate(kind: str, items: Sequence[PaymentItemRequest], idempotency_key: str) -> Payable:
    payable = PAYABLES.get(kind)
    if payable is None:
        raise ValueError(f"no payable kind {kind!r} is registered")
    if not items or len({item.item_id for item in items}) != len(items):
        raise ValueError("a payment needs items, each once")
    if any(not isinstance(item.amount_fen, int) or item.amount_fen <= 0 for item in items):
        raise ValueError("item amounts are positive integers in fen")
    if not idempotency_key or len(idempotency_key) > 100:
        raise PaymentConflict()
    return payable


def _existing(kind, items, idempotency_key, fingerprint) -> Payment | None:
    """The payment this request already has, or None; raises when it can't have one."""
    by_key = db.session.scalar(sa.select(Payment).where(
        Payment.idempotency_key == idempotency_key))
    if by_key is not None:
        if by_key.fingerprint != fingerprint:
            raise PaymentConflict(payment=by_key)
        return by_key
    holders = db.session.scalars(
        sa.select(Payment).join(PaymentItem).where(
            PaymentItem.kind == kind, PaymentItem.live,
            PaymentItem.item_id.in_([item.item_id for item in items]))
        .order_by(Payment.id).with_for_update(of=Payment)).unique().all()
    for holder in holders:
        if holder.unfinished and holder.expires_at <= now():
            settle_or_expire(holder)
    paid = next((holder for holder in holders if holder.status == SUCCESS), None)
    if paid is not None:
        raise AlreadyPaid(payment=paid)
    live = next((holder for holder in holders if holder.unfinished), None)
    if live is None or live.fingerprint == fingerprint:
        return live
    raise PaymentInProgress(payment=live)


def request_payment(kind: str, items: Sequence[PaymentItemRequest], description: str, user,
                    idempotency_key: str) -> Payment:
    """The payment for this request: a new one, or the one the same request made before.
    Commits nothing (the caller commits). Raises AlreadyPaid, PaymentInProgress,
    PaymentConflict or PaymentUnavailable."""
    payable = _validate(kind, items, idempotency_key)
    if not payable.available():
        raise PaymentUnavailable()
    user_id = user.id if user is not None and user.is_authenticated else None
    fingerprint = _fingerprint(kind, user_id, items)
    for _attempt in range(3):
        payment = _existing(kind, items, idempotency_key, fingerprint)
        if payment is None:
            payment = _insert(kind, items, description, user_id, idempotency_key, fingerprint)
        if payment is not None:
            remember_in_session(payment)
            return payment
    raise PaymentError()


def _insert(kind, items, description, user_id, idempotency_key, fingerprint) -> Payment | None:
    """A new payment holding the items, or None when a concurrent request took the key or an
    item first (the unique indexes decide; the caller looks again)."""
    account = merchant.ready_account()
    payment = Payment(
        reference=secrets.token_hex(16), kind=kind, description=str(description)[:200],
        user_id=user_id, amount_fen=sum(item.amount_fen for item in items),
        provider=account.provider, idempotency_key=idempotency_key, fingerprint=fingerprint,
        expires_at=now() + timedelta(minutes=account.expiry_minutes),
        # Inserted in item order: two requests for the same items wait, never deadlock.
        items=[PaymentItem(kind=kind, item_id=item.item_id, amount_fen=item.amount_fen,
                           label=str(item.label)[:200])
               for item in sorted(items, key=lambda item: item.item_id)])
    try:
        with db.session.begin_nested():
            db.session.add(payment)
            db.session.flush()
            db.session.add(PaymentEvent(payment_id=payment.id, from_status=CREATED,
                                        to_status=CREATED, cause="requested"))
    except sa.exc.IntegrityError:
        return None
    return payment


# -- reading -------------------------------------------------------------------------------------

def find(reference: str, lock: bool = False) -> Payment | None:
    query = sa.select(Payment).where(Payment.reference == reference)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def payment_for(kind: str, item_id: int) -> Payment | None:
    """The successful payment of an item, or None."""
    return db.session.scalar(sa.select(Payment).join(PaymentItem).where(
        PaymentItem.kind == kind, PaymentItem.item_id == item_id, PaymentItem.live,
        Payment.status == SUCCESS))


# -- moving --------------------------------------------------------------------------------------

def _next_receipt_number(paid_at: datetime) -> str:
    number = db.session.execute(
        sa.update(MerchantAccount).where(MerchantAccount.id == 1)
        .values(last_receipt_number=MerchantAccount.last_receipt_number + 1)
        .returning(MerchantAccount.last_receipt_number),
        execution_options={"synchronize_session": False}).scalar_one()
    year = paid_at.astimezone(city_zone()).year
    return f"{year}-{number:08d}"


def transition(payment: Payment, to: str, cause: str, message: dict | None = None) -> None:
    """Move a (locked) payment to `to`, recording why; on success the payable learns it in the
    same transaction. Raises IllegalTransition for a move TRANSITIONS does not list."""
    before = payment.status
    if to not in TRANSITIONS[before]:
        raise IllegalTransition(f"payment {payment.reference}: {before} → {to} is not allowed")
    moment = now()
    if to == SUCCESS:  # numbered first: the numbering statement flushes the session
        payment.receipt_number, payment.paid_at = _next_receipt_number(moment), moment
        payment.captured_fen, payment.captured_at = payment.amount_fen, moment
    payment.status = to
    if to in FINISHED:
        payment.finished_at = moment
        if to != SUCCESS:
            for item in payment.items:
                item.live = False
    db.session.add(PaymentEvent(payment_id=payment.id, from_status=before, to_status=to,
                                cause=cause[:200], message=message))
    db.session.flush()
    if to == SUCCESS:
        payable = PAYABLES.get(payment.kind)
        if payable is None:
            raise RuntimeError(f"payment {payment.reference} is for an unknown kind")
        payable.on_paid(payment, [item.item_id for item in payment.items])
        alerts.tell_citizen(payment, "payment_received")
        webhooks.publish("payment.received", _event_data(payment))
    elif to == ERROR:
        alerts.tell_staff(payment, _module_of(payment), "payment_needs_staff", cause=cause)


def _event_data(payment: Payment) -> dict:
    """What a payment's webhook events say of it (no personal data)."""
    return {"reference": payment.reference, "kind": payment.kind,
            "description": payment.description, "amount_fen": payment.amount_fen,
            "refunded_fen": payment.refunded_fen, "status": payment.status,
            "provider": payment.provider, "receipt_number": payment.receipt_number,
            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
            "items": [{"kind": item.kind, "item_id": item.item_id, "amount_fen": item.amount_fen}
                      for item in payment.items]}


def note(payment: Payment, cause: str, message: dict | None = None) -> None:
    """Record something that happened to a payment without a change of state."""
    db.session.add(PaymentEvent(payment_id=payment.id, from_status=payment.status,
                                to_status=payment.status, cause=cause[:200], message=message))


def apply_trade_status(payment: Payment, trade_status: str, trade_no: str | None, cause: str,
                       message: dict | None = None) -> bool:
    """What the provider says of a (locked) payment's trade, from a verified notification or
    query; returns whether anything changed. Repeats and late, out-of-order messages change
    nothing, except that money taken for an ended payment is recorded once and refunded."""
    if trade_status in PAID_STATUSES:
        if payment.unfinished:
            payment.trade_no = trade_no
            transition(payment, SUCCESS, cause, message)
            return True
        if payment.status != SUCCESS and payment.captured_fen == 0:
            capture_late(payment, trade_no, message)
            return True
        return False
    if trade_status == CLOSED_STATUS and payment.unfinished:
        transition(payment, FAILED, cause, message)
        return True
    return False


def capture_late(payment: Payment, trade_no: str | None, message: dict | None) -> None:
    """Money taken for a (locked) payment that had ended (cancelled, expired, failed): record
    it, give it back at once, and tell the staff. If the provider refuses or can't be reached,
    the money stays refundable by hand (the staff's alert says so)."""
    log.warning("payment %s was paid after it ended (%s): refunding it", payment.reference,
                payment.status)
    payment.trade_no = payment.trade_no or trade_no
    payment.captured_fen, payment.captured_at = payment.amount_fen, now()
    note(payment, LATE_PAYMENT, message)
    try:
        with db.session.begin_nested():
            # One refund reference per payment: a repeated notification after a lost commit
            # asks the provider for the same refund again, which it does once.
            refund(payment, payment.refundable_fen, LATE_REFUND_REASON, SYSTEM,
                   reference=hashlib.sha256(f"late:{payment.reference}".encode()).hexdigest()[:32])
    except PaymentError as error:
        log.warning("payment %s: the automatic refund failed (%s)", payment.reference, error)
        note(payment, "the automatic refund failed: refund it by hand")
        alerts.tell_staff(payment, _module_of(payment), "payment_captured_late", refunded=False)
    else:
        alerts.tell_staff(payment, _module_of(payment), "payment_captured_late", refunded=True)


def start(payment: Payment) -> None:
    if payment.status == CREATED:
        transition(payment, STARTED, "sent to the provider")


def cancel(payment: Payment) -> None:
    """The citizen gives up before paying (one the provider has seen is asked about and closed
    there first: it may have been paid meanwhile)."""
    if payment.status in (CREATED, STARTED):
        settle_or_end(payment, CANCELLED, "cancelled by the citizen")


def settle(payment: Payment) -> bool:
    """Ask the provider about a (locked) unfinished payment that reached it; returns whether it
    changed. Never called for a created payment (the provider has never seen it)."""
    if not payment.unfinished or payment.status == CREATED:
        return False
    try:
        trade = provider_for(payment.provider).query(payment)
    except AmountMismatch as mismatch:
        transition(payment, ERROR, AMOUNT_MISMATCH, mismatch.answer)
        return True
    if trade is None:
        return False
    return apply_trade_status(payment, trade.status, trade.trade_no, "query", trade.message)


def settle_or_end(payment: Payment, to: str, cause: str) -> None:
    """End a (locked) unfinished payment: if the provider has seen it, ask it first (paid after
    all → success) and close the trade there, so it takes no money later; then move it `to`
    (cancelled, expired). Raises ProviderError, changing nothing, if the provider can't say."""
    if payment.status != CREATED:
        if settle(payment):
            return
        provider_for(payment.provider).close(payment)
    transition(payment, to, cause)


def settle_or_expire(payment: Payment) -> None:
    """For a (locked) unfinished payment past its time; one the provider can't tell about now
    waits for the next try."""
    try:
        settle_or_end(payment, EXPIRED, "expired")
    except PaymentError as error:
        log.warning("payment %s: the provider was not reached (%s); it expires later",
                    payment.reference, error)


def expire_due(limit: int = 200) -> int:
    """Settle or expire the bound city's unfinished payments past their time, committing each;
    returns how many were looked at."""
    references = db.session.scalars(
        sa.select(Payment.reference).where(Payment.status.in_(UNFINISHED),
                                           Payment.expires_at <= now())
        .order_by(Payment.expires_at).limit(limit)).all()
    db.session.commit()
    for reference in references:
        payment = db.session.scalar(
            sa.select(Payment).where(Payment.reference == reference,
                                     Payment.status.in_(UNFINISHED))
            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
        if payment is not None:
            settle_or_expire(payment)
        db.session.commit()
    return len(references)


# -- refunds -------------------------------------------------------------------------------------

def refund(payment: Payment, amount_fen: int, reason: str, by: str,
           reference: str | None = None) -> Refund:
    """Give back `amount_fen` of what the provider took for a (locked) payment, through the
    provider; recorded with an event, the citizen told, and (for a successful payment) the
    payable's on_refunded called, and in the audit log as done `by`. Raises RefundRefused
    beyond what is still refundable, and ProviderError (ProviderRefused) when the provider
    can't be reached (refuses)."""
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > payment.refundable_fen:
        raise RefundRefused(payment=payment)
    record = Refund(payment_id=payment.id, reference=reference or secrets.token_hex(16),
                    amount_fen=amount_fen, reason=reason[:200], by=by[:200])
    message = provider_for(payment.provider).refund(payment, record)
    payment.refunded_fen += amount_fen
    db.session.add(record)
    note(payment, f"refund of {amount_fen} fen: {reason}"[:200], message)
    db.session.flush()
    payable = PAYABLES.get(payment.kind)
    if payment.status == SUCCESS and payable is not None and payable.on_refunded is not None:
        payable.on_refunded(payment, record)
    alerts.tell_citizen(payment, "payment_refunded", refund=record)
    audit.record(by, "payments.refund", payment.reference, after={
        "amount_fen": amount_fen, "reason": record.reason, "refund": record.reference})
    webhooks.publish("payment.refunded", {
        **_event_data(payment), "refund": {"reference": record.reference,
                                           "amount_fen": amount_fen, "reason": record.reason}})
    return record


# -- notifications -------------------------------------------------------------------------------

def receive_notification(provider: str, params: dict) -> bool:
    """An asynchronous notification from `provider`, applied if it is genuine: signed by the
    provider's key, for this city's app_id, about one of this city's payments through that
    provider, for its exact amount. Returns False (and changes nothing) otherwise. The caller
    commits."""
    try:
        client = provider_for(provider)
    except PaymentUnavailable:
        return False
    refused = None
    if not client.verify_notification(params):
        refused = "bad signature"
    elif params.get("app_id") != client.credentials.app_id:
        refused = "another app_id"
    elif client.credentials.seller_id and params.get("seller_id") != client.credentials.seller_id:
        refused = "another seller_id"
    else:
        payment = find(params.get("out_trade_no", ""), lock=True)
        if payment is None or payment.provider != provider:
            refused = "unknown out_trade_no"
        elif fen_of(params.get("total_amount")) != payment.amount_fen:
            refused = "wrong amount"
    if refused:
        log.warning("a %s notification was refused (%s): out_trade_no=%r", provider, refused,
                    params.get("out_trade_no"))
        return False
    apply_trade_status(payment, params.get("trade_status", ""), params.get("trade_no"),
                       "notification", dict(params))
    return True
