"""What a payment changes at the node: the order's status and the ledger, from what the provider reports.

`apply_state` brings one order in line with its provider's `PaymentState` (read fresh from it); whatever
order the reports come in, and however often, the end state is the same. Services flush; the caller
(a webhook, a page, the reconciliation) owns the transaction and talks to the provider outside it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from ..audit import record_audit
from ..errors import DomainError, Forbidden
from ..i18n import money
from ..models import Order, Payment, SellerAccount, User
from ..trading import capacity
from ..trading.services import can_sell, expire_hold, refund_confirmed, settle_paid_hold
from . import ledger
from .providers import PaymentState


@dataclass
class Outcome:
    """What applying a provider's report changed, in words, and what the provider must still give back."""

    changes: list[str] = field(default_factory=list)
    refund_due: int = 0


def set_account_status(account: SellerAccount, *, submitted: bool, enabled: bool, now: datetime) -> bool:
    """Store a connected account's status as Stripe reported it; whether it changed."""
    changed = (account.details_submitted, account.payouts_enabled) != (submitted, enabled)
    account.details_submitted, account.payouts_enabled, account.updated_at = submitted, enabled, now
    return changed


def payment_of(session: Session, order: Order) -> Payment | None:
    """The order's payment record, if a provider was started for it."""
    return session.scalars(select(Payment).where(Payment.order_id == order.id)).first()


def ensure_payment(session: Session, order: Order, *, now: datetime) -> Payment:
    """The order's payment record, made on first need."""
    payment = payment_of(session, order)
    if payment is None:
        payment = Payment(order_id=order.id, provider=order.payment_provider, created_at=now, updated_at=now)
        session.add(payment)
        session.flush()
    return payment


def record_checkout(*, session: Session, order: Order, checkout_id: str, url: str, now: datetime) -> Payment:
    """Remember the Checkout Session opened for a held order; its page is the order's `payment.url`."""
    payment = ensure_payment(session, order, now=now)
    payment.session_id, payment.url, payment.updated_at = checkout_id, url, now
    order.payment_url = url
    session.flush()
    return payment


def lock_order(session: Session, order: Order) -> Order:
    """Lock the order's listing (the queue every change of its orders waits in) and re-read the order."""
    capacity.lock_listing_row(session, order.listing_id)
    session.refresh(order)
    return order


def apply_state(*, session: Session, order: Order, payment: Payment, state: PaymentState, bps: int,
                now: datetime) -> Outcome:  # fmt: skip
    """Bring the order and the ledger in line with the provider's report, under the listing's lock.

    Paid and still held → confirmed. Paid but no longer held (cancelled, expired, lapsed) → the order
    stays as it is and the money is due back. Refunds → entered; all returned → `refunded` (a confirmed
    order too, its units freed). Closed unpaid while held → expired, units freed.
    """
    order, outcome = lock_order(session, order), Outcome()
    code = order.code
    payment.payment_intent_id = state.payment_intent_id or payment.payment_intent_id
    if state.paid and state.charge_id:
        payment.charge_id = state.charge_id
        if ledger.enter_charge(session=session, order=order, amount=state.amount, reference=state.charge_id,
                               bps=bps, now=now):  # fmt: skip
            outcome.changes.append(f"{code}: charge {state.charge_id} of {state.amount} entered")
        if order.status == "held":
            if settle_paid_hold(session=session, order=order, reference=state.charge_id, now=now):
                outcome.changes.append(f"{code}: paid, confirmed")
            else:  # paid after the hold lapsed: the units may be sold again
                expire_hold(session=session, order=order, reason="the hold lapsed before the payment", now=now)
                outcome.changes.append(f"{code}: paid after its hold lapsed, expired")
    for refund in state.refunds:
        if ledger.enter_refund(session=session, order=order, amount=refund.amount, reference=refund.id, now=now):
            outcome.changes.append(f"{code}: refund {refund.id} of {refund.amount} entered")
    sums = ledger.sums_of(session, order.id)
    net = ledger.net_paid(sums)
    if sums["charge"] and net == 0:
        if order.status == "confirmed" and refund_confirmed(session=session, order=order, now=now,
                                                            reason="all the money was refunded"):  # fmt: skip
            outcome.changes.append(f"{code}: refunded")
        if order.payment_status != "refunded":
            order.payment_status = "refunded"
            outcome.changes.append(f"{code}: payment refunded")
    elif net > 0 and order.status in ("cancelled", "expired", "refunded"):
        # Money for an order no longer held (or cancelled since): it goes back, the order stays as it is.
        outcome.refund_due = net
        if order.payment_status != "refund_pending":
            order.payment_status = "refund_pending"
            outcome.changes.append(f"{code}: {net} to refund ({order.status})")
    elif state.paid and order.payment_provider != payment.provider:
        # Paid twice: the bank transfer was recorded first, so this provider's money goes back.
        outcome.refund_due = state.amount - sum(refund.amount for refund in state.refunds)
        if outcome.refund_due:
            outcome.changes.append(f"{code}: paid by {order.payment_provider} too, {outcome.refund_due} to refund")
    if state.closed and order.status == "held" and not state.paid:
        if expire_hold(session=session, order=order, reason="the payment page lapsed unpaid", now=now):
            outcome.changes.append(f"{code}: payment page lapsed, expired")
    payment.updated_at = now
    session.flush()
    return outcome


def check_refund(*, actor: User, order: Order, amount: int, net: int, reason: str) -> None:
    """Only the seller or an operator refunds by hand, with a reason, at most what was paid and kept."""
    if not can_sell(actor, order):
        raise Forbidden("Only the listing's seller or an operator refunds an order.")
    if not reason.strip():
        raise DomainError("Say why the money is refunded.", field="reason")
    if net <= 0:
        raise DomainError("Nothing paid is left to refund.", field="amount", reason="nothing_to_refund")
    if amount < 1:
        raise DomainError("A refund is at least ¥0.01.", field="amount")
    if amount > net:
        raise DomainError(f"At most {money(net, order.currency)}: what was paid and not yet refunded.", field="amount")


def record_manual_refund(*, session: Session, order: Order, amount: int, reference: str, actor: User, reason: str,
                         now: datetime) -> None:  # fmt: skip
    """Enter a refund the seller or an operator made; all of it returned → the order is refunded."""
    ledger.enter_refund(session=session, order=order, amount=amount, reference=reference, note=reason,
                        actor=actor.email, now=now)  # fmt: skip
    record_audit(session=session, action="payment.refund", actor=actor.email, object=f"order:{order.code}",
                 detail={"amount": amount, "reason": reason, "reference": reference})  # fmt: skip
    if ledger.net_paid(ledger.sums_of(session, order.id)) <= 0:  # all of it: the order is refunded, its units free
        refund_confirmed(session=session, order=order, reason="all the money was refunded", now=now)
        order.payment_status = "refunded"
