"""Stripe's webhook events: verified, stored once by id, and applied by re-reading the order's payment
(or, for `account.updated`, the seller's connected account).

An event only says which order to look at: what is applied is the payment as Stripe has it when read
(pypi/warehouse's billing view does the same), so duplicates, retries and any order of arrival end in
the same state. The event's row and what it changed commit together; a concurrent delivery of the same
event waits on the row's unique key and then finds it taken.
"""

import json

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..audit import record_audit
from ..errors import DomainError
from ..metrics import WEBHOOK_EVENTS
from ..models import Order, Payment, SellerAccount, StripeEvent
from ..models.types import utcnow
from .flows import NodePayments, give_back
from .services import Outcome, apply_state, set_account_status

TOLERANCE_SECONDS = 300


class BadSignature(DomainError):
    """The delivery's `Stripe-Signature` is missing, wrong or stale."""

    status = 400
    reason = "bad_signature"
    location = "headers"


def verify_event(payments: NodePayments, payload: bytes, header: str | None):
    """The event of a delivery whose signature verifies with the node's webhook secret, else BadSignature;
    a signed body that is not shaped like an event is refused too (NotAnEvent)."""
    if payments.stripe is None or not payments.webhook_secret:
        raise DomainError("This node takes no Stripe payments.", status=404, reason="not_found")
    try:
        event = payments.stripe.construct_event(payload, header or "", payments.webhook_secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise BadSignature("The signature does not verify, or is older than 5 minutes.",
                           field="Stripe-Signature") from None  # fmt: skip
    except (ValueError, TypeError, AttributeError, KeyError):  # signed, but not an event's JSON
        raise NotAnEvent("The body is not a Stripe event.") from None
    _check_shape(json.loads(payload))
    return event


class NotAnEvent(DomainError):
    """A signed delivery whose body is not an event this node can read."""

    status = 400
    reason = "not_an_event"


def _check_shape(body) -> None:
    """The parts of an event this node reads, of the types Stripe sends them in, else NotAnEvent."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str):
        raise NotAnEvent("An event is an object with a text id and type.")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise NotAnEvent("An event's data.object must be an object.")
    for name in ("id", "object"):
        if name in obj and not isinstance(obj[name], str):
            raise NotAnEvent(f"data.object.{name} must be text.")
    if obj.get("object") in ("checkout.session", "account") and not isinstance(obj.get("id"), str):
        raise NotAnEvent("data.object.id is missing.")
    intent = obj.get("payment_intent")
    expanded = isinstance(intent, dict) and isinstance(intent.get("id"), str)
    if not (intent is None or isinstance(intent, str) or expanded):
        raise NotAnEvent("data.object.payment_intent must be an id or an object with one.")


def _payment_for(payments: NodePayments, session: Session, obj) -> Payment | None:
    """The payment an event's object concerns: a Checkout Session, or a charge/refund through its intent."""
    if getattr(obj, "object", None) == "checkout.session":
        return session.scalars(select(Payment).where(Payment.session_id == obj.id)).first()
    intent = getattr(obj, "payment_intent", None)
    intent = intent if isinstance(intent, str) or intent is None else intent.id
    if not intent:
        return None
    payment = session.scalars(select(Payment).where(Payment.payment_intent_id == intent)).first()
    if payment is None:  # the refund arrived before the session's completion: find the session
        session.rollback()  # no transaction (on SQLite: no write lock) while Stripe is asked
        session_id = payments.stripe.session_of_payment_intent(intent)
        if session_id:
            payment = session.scalars(select(Payment).where(Payment.session_id == session_id)).first()
    return payment


def receive_event(payments: NodePayments, session: Session, event) -> tuple[str, list[str]]:
    """Apply a verified event once: ("applied" | "duplicate" | "ignored", what it changed, in words)."""
    WEBHOOK_EVENTS.labels(event.type).inc()
    if session.get(StripeEvent, event.id) is not None:
        session.rollback()
        return "duplicate", []
    obj = event.data.object
    if getattr(obj, "object", None) == "account":
        return _account_changed(payments, session, event, obj)
    payment = _payment_for(payments, session, obj)
    state = None
    if payment is not None:
        payment_id, provider = payment.id, payments.providers.get(payment.provider)
        session.rollback()
        try:
            state = provider.read(payment) if provider else None  # re-read, outside any transaction
        except stripe.StripeError as error:
            raise _unreachable(error) from None
        payment = session.get(Payment, payment_id)
    else:
        session.rollback()
    if not _stored_once(session, event, obj):
        return "duplicate", []
    order = session.get(Order, payment.order_id) if payment is not None else None
    outcome = Outcome()
    if order is not None and state is not None:
        outcome = apply_state(session=session, order=order, payment=payment, state=state, bps=payments.bps,
                              now=utcnow())  # fmt: skip
    record_audit(session=session, action="payment.webhook", actor="stripe",
                 object=f"order:{order.code}" if order else f"stripe:{getattr(obj, 'id', '')}",
                 detail={"event": event.id, "type": event.type, "changes": outcome.changes})  # fmt: skip
    session.commit()
    if order is not None and outcome.refund_due:
        outcome.changes += give_back(payments, session, order, amount=outcome.refund_due, key=f"refund-{order.code}")
    return ("applied" if order is not None else "ignored"), outcome.changes


def _unreachable(error: stripe.StripeError) -> DomainError:
    """A 503 for a delivery Stripe could not be asked about: Stripe retries it later, and nothing was stored."""
    return DomainError(f"Stripe did not answer: {error.user_message or type(error).__name__}.", status=503,
                       reason="provider_unreachable")


def _stored_once(session: Session, event, obj) -> bool:
    """Store the event's id; False when the same event, delivered at the same moment, was stored by the other
    delivery (rolled back)."""
    session.add(StripeEvent(id=event.id, type=event.type, object_id=str(getattr(obj, "id", "")), received_at=utcnow()))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _account_changed(payments: NodePayments, session: Session, event, obj) -> tuple[str, list[str]]:
    """A seller's connected account changed at Stripe (onboarding finished, payouts paused or resumed): its status,
    re-read from Stripe, is stored, so that payouts follow it without the seller coming back to the node."""
    session.rollback()
    if payments.stripe is None:
        return "ignored", []
    try:
        submitted, enabled = payments.stripe.account_status(obj.id)  # outside any transaction
    except stripe.InvalidRequestError:
        return "ignored", []  # Stripe knows no such account: nothing to follow, and asking again will not help
    except stripe.StripeError as error:
        raise _unreachable(error) from None
    if not _stored_once(session, event, obj):
        return "duplicate", []
    account = session.scalars(select(SellerAccount).where(SellerAccount.stripe_account_id == obj.id)).first()
    changes = []
    if account is not None and set_account_status(account, submitted=submitted, enabled=enabled, now=utcnow()):
        changes.append(f"payouts {'enabled' if enabled else 'paused'} for {obj.id}")
    record_audit(session=session, action="payment.webhook", actor="stripe", object=f"stripe:{obj.id}",
                 detail={"event": event.id, "type": event.type, "changes": changes})  # fmt: skip
    session.commit()
    return ("applied" if account is not None else "ignored"), changes
