"""What happens to orders: quote, place (never oversold), cancel, confirm, expire, access, report.

Every function takes the current time as `now`, so callers (and tests) decide what time it is.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as SASession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from ..audit import actor_of, insert_audit, insert_with_audit
from ..errors import DomainError, Forbidden, NotFound
from ..identity.codes import InvalidCode, mint_code, parse_code
from ..listings.services import (
    announce_restated,
    can_see,
    find_listing,
    listing_changing,
    republish_listing,
    restate_listing,
)
from ..models import IdempotencyKey, Listing, Order, OrderEvent, User
from ..models.types import utcnow
from . import capacity
from .pricing import Price, price_order, whole_hours
from .refusals import CapacityCommitted, CapacityShort, HoldExpired, NotForSale, PriceChanged, TransitionRefused

HOLD_SECONDS = 3600
FREE_CANCEL_HOURS = 24

_signals = Namespace()
# The payments layer above listens (trading cannot import it): `order_moved` inside the unit of work of
# a transition (the ledger's entries commit with it), `order_saved` after the view committed a change
# (calls to the payment provider: a Checkout Session for a new hold, a refund, an expired session).
order_moved = _signals.signal("order-moved")
order_saved = _signals.signal("order-saved")
IDEMPOTENCY_KEEP = timedelta(hours=25)  # keys are kept at least 24 h


@dataclass(frozen=True)
class Quote:
    """What an order would cost and whether the units are free (§8's quote)."""

    price: Price
    free: int
    available: bool
    listing_version: int
    as_of: datetime


def _fmt(moment: datetime) -> str:
    return moment.isoformat()


def listing_for_sale(*, session: Session, code: str, viewer, node_code: str, lock: bool = False) -> Listing:
    """A listing this node sells: 404 for unknown codes and others' drafts, 409 not_for_sale otherwise.

    `lock`: read it under its lock (one statement), for a caller that places an order next.
    """
    listing = _locked_by_code(session, code) if lock else find_listing(session=session, code=code)
    if listing is None or not can_see(viewer, listing):
        raise NotFound(f"No listing {code.upper()}.")
    if listing.origin != node_code:
        raise NotForSale(f"{listing.code} is sold at its origin node {listing.origin}; order it there.")
    _check_for_sale(listing)
    return listing


def _locked_by_code(session: Session, code: str) -> Listing | None:
    try:
        parsed = str(parse_code(code))
    except InvalidCode:
        return None
    return capacity.lock_listing_by_code(session, parsed)


def _check_for_sale(listing: Listing) -> None:
    if listing.status != "published":
        raise NotForSale(f"{listing.code} is {listing.status}: it is not for sale.")


def check_window(listing: Listing, *, units: int, start: datetime, end: datetime, now: datetime) -> None:
    """Refuse (422) an order that could never be valid for this listing, naming the field."""
    if units < 1:
        raise DomainError("Must be at least 1.", field="units")
    if units > listing.quantity:
        raise DomainError(f"The listing has {listing.quantity} units in all.", field="units")
    for name, moment in (("start", start), ("end", end)):
        if moment.utcoffset() is None:
            raise DomainError("Missing the timezone offset.", field=name)
        if moment.minute or moment.second or moment.microsecond or moment.utcoffset().total_seconds() % 3600:
            raise DomainError("Must be on a whole UTC hour (…:00:00).", field=name)
    if end <= start:
        raise DomainError("Must be after start.", field="end")
    if start < now:
        raise DomainError("Must not be in the past.", field="start")
    if start < listing.available_from:
        raise DomainError(f"The listing is available from {_fmt(listing.available_from)}.", field="start")
    if end > listing.available_until:
        raise DomainError(f"The listing is available until {_fmt(listing.available_until)}.", field="end")
    if whole_hours(start, end) < listing.min_hours:
        raise DomainError(f"The listing rents for at least {listing.min_hours} hours.", field="end")


def _free(session: Session, listing: Listing, start: datetime, end: datetime, now: datetime) -> int:
    spans = capacity.live_spans(session, listing.id, now=now, start=start, end=end)
    return max(listing.quantity - capacity.peak_usage(spans, start, end), 0)


def quote_order(
    *, session: Session, listing: Listing, units: int, start: datetime, end: datetime, now: datetime
) -> Quote:
    """Price an order and tell how many units are free throughout its window; changes nothing."""
    _check_for_sale(listing)
    check_window(listing, units=units, start=start, end=end, now=now)
    free = _free(session, listing, start, end, now)
    price = price_order(listing, units=units, start=start, end=end)
    return Quote(price=price, free=free, available=free >= units, listing_version=listing.version, as_of=now)


def _record(session: Session, order: Order, *, kind: str, to_status: str, actor: User | None, reason: str,
            now: datetime, from_status: str | None = None) -> None:  # fmt: skip
    """The order's event and its audit entry, written at once (the order is in the database already)."""
    event, audit = _event_and_audit(order, kind=kind, to_status=to_status, actor=actor, reason=reason, now=now,
                                    from_status=from_status)  # fmt: skip
    insert_audit(session=session, beside=(OrderEvent.__table__, {"order_id": order.id, **event}), **audit)


def _event_and_audit(order: Order, *, kind: str, to_status: str, actor: User | None, reason: str, now: datetime,
                     from_status: str | None = None) -> tuple[dict, dict]:  # fmt: skip
    """An order's event row (but its order_id) and the arguments of its audit entry."""
    event = {"kind": kind, "from_status": from_status, "to_status": to_status, "actor_id": actor.id if actor else None,
             "actor": actor.email if actor else "system", "reason": reason, "created_at": now}  # fmt: skip
    detail = {"from": from_status, "to": to_status} | ({"reason": reason} if reason else {})
    return event, {"action": f"order.{kind}", "actor": actor_of(actor), "object": f"order:{order.code}",
                   "detail": detail}  # fmt: skip


def _published(listing: Listing) -> None:
    """The listing's `capacity` is recomputed from its orders: nothing is left for the sync worker."""
    if listing.capacity_stale:
        listing.capacity_stale = False


_ORDER_COLUMNS = tuple(column.name for column in Order.__table__.columns if not column.primary_key)


def _insert_held(session: Session, order: Order, buyer: User, now: datetime) -> None:
    """Write a new order with its `held` event and audit entry (one statement on PostgreSQL, no unit of
    work: this is what every placement does under the listing's lock), then keep it in the session."""
    event, audit = _event_and_audit(order, kind="held", to_status="held", actor=buyer, reason="placed", now=now)
    order.id = insert_with_audit(
        session=session, table=Order.__table__, row={name: getattr(order, name) for name in _ORDER_COLUMNS},
        then=(OrderEvent.__table__, "order_id", event), **audit,
    )  # fmt: skip
    make_transient_to_detached(order)
    session.add(order)
    session.info.setdefault(_INSERTED, []).append((order, session.get_nested_transaction() or
                                                   session.get_transaction()))  # fmt: skip


_INSERTED = "trading.inserted_orders"  # session.info key: (order, transaction) _insert_held wrote, until commit


@event.listens_for(SASession, "after_soft_rollback")
def _forget_inserted(session: SASession, rolled_back) -> None:
    # The unit of work forgets what it inserted when its transaction or savepoint rolls back; orders written beside
    # it are forgotten here, or the next order given the same id (SQLite reuses it) could not enter the session.
    kept = []
    for order, transaction in session.info.get(_INSERTED, ()):
        inside = transaction
        while inside is not None and inside is not rolled_back:
            inside = inside.parent
        if inside is None:
            kept.append((order, transaction))
        elif order in session:
            session.expunge(order)
    session.info[_INSERTED] = kept


@event.listens_for(SASession, "after_commit")
def _keep_inserted(session: SASession) -> None:
    session.info.pop(_INSERTED, None)


def _publish_capacity(session: Session, listing: Listing, now: datetime) -> bool:
    """Recompute the listing's free capacity; if it changed, a new version goes out through the outbox."""
    spans = capacity.live_spans(session, listing.id, now=now)
    new = capacity.capacity_of(listing, spans, now)
    _published(listing)
    if new == listing.capacity or listing.status in ("draft", "retired"):
        return False
    listing.capacity = new
    republish_listing(session=session, listing=listing)
    return True


def _existing_for_key(session: Session, buyer: User, key: str, fingerprint: str) -> Order | None:
    found = session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.account_id == buyer.id, IdempotencyKey.key == key)
    ).first()
    if found is None:
        return None
    if found.fingerprint != fingerprint:
        raise DomainError("This Idempotency-Key was sent before with another body.", field="Idempotency-Key",
                          location="headers", reason="idempotency_key_reused")  # fmt: skip
    return session.get(Order, found.order_id)


def place_order(
    *, session: Session, listing: Listing, buyer: User, units: int, start: datetime, end: datetime, now: datetime,
    node_code: str, hold_seconds: int = HOLD_SECONDS, payment_provider: str = "invoice",
    expected_total: int | None = None, idempotency: tuple[str, str] | None = None, buyer_node: str | None = None,
) -> tuple[Order, bool]:  # fmt: skip
    """Hold `units` of a listing for [start, end): (the order, whether it is new).

    The listing is locked and its live orders summed in this one transaction, so no instant is
    ever oversold. `idempotency` is (key, body fingerprint): a repeat answers the first order.
    `buyer_node` is the node that placed it on the buyer's behalf (this node unless another one did).
    When other orders were waiting for the listing's lock, the listing is left `capacity_stale` instead
    of republished: the order reads only the live orders of its window, and the next order that finds the
    listing free, or the sync worker, publishes the change.
    """
    listing = capacity.lock_listing(session, listing.id)
    # Under the lock, so a retry racing the first request sees the first one's key.
    if idempotency and (earlier := _existing_for_key(session, buyer, *idempotency)):
        return earlier, False
    _check_for_sale(listing)
    check_window(listing, units=units, start=start, end=end, now=now)
    price = price_order(listing, units=units, start=start, end=end)
    if expected_total is not None and expected_total != price.total:
        raise PriceChanged(f"The total is now {price.total}, not {expected_total}.", field="expected_total",
                           extra={"total": price.total})  # fmt: skip
    # A listing selling many orders a second would otherwise read and republish all its live orders, under
    # its lock, for every one of them (and send every node a new version each time).
    defer = capacity.contended(session, listing.id)
    # One read of the live orders, under the lock: for the check, then (unless deferred) for the published capacity.
    spans = capacity.live_spans(session, listing.id, now=now, **({"start": start, "end": end} if defer else {}))
    free = max(listing.quantity - capacity.peak_usage(spans, start, end), 0)
    if free < units:
        raise CapacityShort(
            f"Only {free} unit{'' if free == 1 else 's'} {'is' if free == 1 else 'are'} free from {_fmt(start)} "
            f"to {_fmt(end)}.", field="units", extra={"free": free},
        )  # fmt: skip
    order = Order(
        code=mint_code(session=session, node_code=node_code), listing_id=listing.id, listing_code=listing.code,
        origin=listing.origin, seller_id=listing.seller_id, buyer_id=buyer.id, buyer_name=buyer.name,
        buyer_org=buyer.organization, buyer_node=buyer_node or node_code, status="held", units=units, starts_at=start,
        ends_at=end, total=price.total, currency=price.currency, lines=price.lines,
        hold_expires_at=now + timedelta(seconds=hold_seconds), payment_provider=payment_provider,
        payment_status="awaiting", created_at=now, updated_at=now,
    )  # fmt: skip
    # The new free capacity is known before the order is written: the listing's new version and the order are
    # flushed together, and the outbox's counter (which every writer of the node queues on) is taken last.
    if defer:
        restated = False
        if not listing.capacity_stale:
            listing.capacity_stale = True
    else:
        new_capacity = capacity.capacity_of(listing, spans + [capacity.span(start, end, units)], now)
        _published(listing)
        if restated := new_capacity != listing.capacity:
            listing.capacity = new_capacity
            restate_listing(listing)
    _insert_held(session, order, buyer, now)
    if idempotency:
        try:
            with session.begin_nested():
                session.add(IdempotencyKey(account_id=buyer.id, key=idempotency[0], fingerprint=idempotency[1],
                                           order_id=order.id, created_at=now))  # fmt: skip
        except IntegrityError:
            # The same key, sent at the same moment for another listing: the first one to commit keeps it.
            raise DomainError("This Idempotency-Key is in use by another order.", field="Idempotency-Key",
                              location="headers", reason="idempotency_key_reused") from None  # fmt: skip
    if restated:
        announce_restated(session=session, listing=listing)
    return order, True


def is_operator(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.role == "operator")


def can_see_order(user, order: Order) -> bool:
    """Only the buyer, the listing's seller and the node's operators see an order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.id in (order.buyer_id, order.seller_id) or is_operator(user)


def can_sell(user, order: Order) -> bool:
    """The listing's seller or an operator: who confirms, gives access, and cancels with a reason."""
    return bool(user is not None and getattr(user, "is_authenticated", False)) and (
        user.id == order.seller_id or is_operator(user)
    )


def find_order(*, session: Session, code: str, viewer) -> Order:
    """An order the viewer may see, or NotFound (also for orders of others: their existence is not told)."""
    try:
        parsed = str(parse_code(code))
    except InvalidCode:
        parsed = None
    order = session.scalars(select(Order).where(Order.code == parsed)).first() if parsed else None
    if order is None or not can_see_order(viewer, order):
        raise NotFound(f"No order {code.upper()}.")
    return order


def _locked(session: Session, order: Order) -> tuple[Order, Listing]:
    """Lock the order's listing (the one queue for its capacity) and re-read the order under it."""
    listing = capacity.lock_listing(session, order.listing_id)
    session.refresh(order)
    return order, listing


def _move(session: Session, order: Order, to_status: str, *, actor, reason: str, now: datetime) -> None:
    from_status, order.status, order.updated_at = order.status, to_status, now
    _record(session, order, kind=to_status, from_status=from_status, to_status=to_status, actor=actor,
            reason=reason, now=now)  # fmt: skip
    order_moved.send(order, session=session, from_status=from_status, actor=actor, now=now)


def free_cancel_until(order: Order, free_cancel_hours: int = FREE_CANCEL_HOURS) -> datetime:
    """Until when the buyer may cancel a confirmed order and get all their money back (PROTOCOL.md §9)."""
    return order.starts_at - timedelta(hours=free_cancel_hours)


def cancel_order(*, session: Session, order: Order, actor: User, reason: str, now: datetime,
                 free_cancel_hours: int = FREE_CANCEL_HOURS) -> Order:  # fmt: skip
    """Cancel a held order (buyer, seller, operator); a confirmed one is refunded in full.

    The buyer cancels a confirmed order until `free_cancel_hours` before its start; the seller or an
    operator at any time, saying why.
    """
    order, listing = _locked(session, order)
    if order.status == "held":
        if not (actor.id == order.buyer_id or can_sell(actor, order)):
            raise Forbidden("Only the buyer, the listing's seller or an operator cancels this order.")
        order.hold_expires_at, order.payment_status = None, "none"
        _move(session, order, "cancelled", actor=actor, reason=reason, now=now)
    elif order.status == "confirmed":
        by_buyer_in_time = actor.id == order.buyer_id and now <= free_cancel_until(order, free_cancel_hours)
        if not (by_buyer_in_time or can_sell(actor, order)):
            raise TransitionRefused(
                f"Free cancellation ended {free_cancel_hours} hours before the start: the listing's seller or an "
                "operator may still refund it.", field="status")  # fmt: skip
        if not by_buyer_in_time and not reason.strip():
            raise DomainError("Say why the confirmed order is cancelled.", field="reason")
        order.payment_status = "refund_pending"  # the money goes back by the provider's way
        _move(session, order, "refunded", actor=actor, reason=reason or "cancelled in time", now=now)
    else:
        raise TransitionRefused(f"The order is {order.status}: it cannot be cancelled.", field="status")
    session.flush()
    _publish_capacity(session, listing, now)
    return order


def confirm_order(*, session: Session, order: Order, actor: User, reference: str, now: datetime) -> Order:
    """Record a bank transfer (invoice) and confirm a held order (the listing's seller or an operator)."""
    if not can_sell(actor, order):
        raise Forbidden("Only the listing's seller or an operator records a payment.")
    order, _listing = _locked(session, order)
    if order.status != "held":
        raise TransitionRefused(f"The order is {order.status}: only a held order is confirmed.", field="status")
    if order.hold_expires_at <= now:
        raise HoldExpired(f"The hold lapsed at {_fmt(order.hold_expires_at)}: the units may be sold again.")
    # Paid by bank transfer whatever was offered first: a Checkout Session still open is expired after this.
    order.payment_provider, order.payment_status, order.payment_reference = "invoice", "paid", reference
    order.hold_expires_at = None
    _move(session, order, "confirmed", actor=actor, reason=f"payment received: {reference}", now=now)
    session.flush()
    return order  # a live hold and a confirmed order take the same units: capacity is unchanged


def settle_paid_hold(*, session: Session, order: Order, reference: str, now: datetime) -> bool:
    """A provider reports the order paid: confirm it if it is still held, else leave it (the caller refunds)."""
    order, _listing = _locked(session, order)
    if order.status != "held" or order.hold_expires_at <= now:
        return False
    order.payment_status, order.payment_reference, order.hold_expires_at = "paid", reference, None
    _move(session, order, "confirmed", actor=None, reason=f"paid: {reference}", now=now)
    session.flush()
    return True


def expire_hold(*, session: Session, order: Order, reason: str, now: datetime) -> bool:
    """The provider's payment page lapsed unpaid: expire the held order at once and free its units."""
    order, listing = _locked(session, order)
    if order.status != "held":
        return False
    order.payment_status = "none"
    _move(session, order, "expired", actor=None, reason=reason, now=now)
    session.flush()
    _publish_capacity(session, listing, now)
    return True


def refund_confirmed(*, session: Session, order: Order, reason: str, now: datetime) -> bool:
    """The provider returned all the money of a confirmed order (its own dashboard, say): refunded, units freed."""
    order, listing = _locked(session, order)
    if order.status != "confirmed":
        return False
    _move(session, order, "refunded", actor=None, reason=reason, now=now)
    session.flush()
    _publish_capacity(session, listing, now)
    return True


def expire_holds(*, session: Session, now: datetime) -> list[Order]:
    """Mark every lapsed hold expired and publish the freed capacity of their listings; the orders expired."""
    lapsed = select(Order.listing_id).where(Order.status == "held", Order.hold_expires_at <= now).distinct()
    # Every listing is locked (in id order) before the first change is announced: announcing takes the
    # outbox counter's lock, and holding it while waiting for a listing that a buyer holds, who waits
    # for the counter in turn, would deadlock.
    listings = [capacity.lock_listing(session, listing_id) for listing_id in sorted(session.scalars(lapsed))]
    expired: list[Order] = []
    for listing in listings:
        listing_id = listing.id
        orders = session.scalars(
            select(Order).where(Order.listing_id == listing_id, Order.status == "held", Order.hold_expires_at <= now)
            .execution_options(populate_existing=True)
        ).all()  # fmt: skip
        for order in orders:
            order.payment_status = "none"
            _move(session, order, "expired", actor=None, reason="the hold lapsed", now=now)
            expired.append(order)
        session.flush()
        _publish_capacity(session, listing, now)
    cutoff = now - IDEMPOTENCY_KEEP
    for key in session.scalars(select(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)):
        session.delete(key)
    session.flush()
    return expired


def stale_listings(session: Session) -> list[int]:
    """The ids of the listings whose published capacity orders have changed since (place_order's deferral)."""
    return list(session.scalars(select(Listing.id).where(Listing.capacity_stale).order_by(Listing.id)))


def publish_stale_capacity(*, session: Session, listing_id: int, now: datetime) -> bool:
    """Publish a stale listing's capacity, under its lock: whether a new version went out."""
    listing = capacity.lock_listing(session, listing_id)
    return listing.capacity_stale and _publish_capacity(session, listing, now)


def give_access(*, session: Session, order: Order, actor: User, details: str, now: datetime) -> Order:
    """The seller tells the buyer of a confirmed order how to reach what was bought."""
    if not can_sell(actor, order):
        raise Forbidden("Only the listing's seller or an operator gives access.")
    if order.status != "confirmed":
        raise TransitionRefused("Access is given for confirmed orders.", field="status")
    if not details.strip():
        raise DomainError("Say how to reach the machines or the endpoint.", field="access_details")
    order.access_details, order.updated_at = details.strip(), now
    _record(session, order, kind="access_given", from_status=order.status, to_status=order.status, actor=actor,
            reason="access details given", now=now)  # fmt: skip
    session.flush()
    return order


def report_not_delivered(*, session: Session, order: Order, actor: User, note: str, now: datetime) -> Order:
    """The buyer of a confirmed order says nothing was delivered: flagged for the seller and operators."""
    if actor.id != order.buyer_id:
        raise Forbidden("Only the buyer reports an order not delivered.")
    if order.status != "confirmed":
        raise TransitionRefused("Only a confirmed order can be reported not delivered.", field="status")
    order.reported_at, order.updated_at = now, now
    _record(session, order, kind="reported", from_status=order.status, to_status=order.status, actor=actor,
            reason=note.strip() or "not delivered", now=now)  # fmt: skip
    session.flush()
    return order


@listing_changing.connect
def _guard_listing_change(listing: Listing, *, session: Session, now: datetime | None = None, **_kw) -> None:
    """A seller's change may not take away what orders hold; the listing's capacity follows the change."""
    if listing.id is None or listing.status == "draft":
        return  # a draft (perhaps without a window or quantity yet) has no orders and publishes no capacity
    now = now or utcnow()
    capacity.lock_listing_row(session, listing.id)
    spans = capacity.live_spans(session, listing.id, now=now, start=now)
    for start, end in ((capacity.moment(s), capacity.moment(e)) for s, e, _units in spans):
        if start < listing.available_from or end > listing.available_until:
            raise CapacityCommitted(
                f"Orders hold units from {_fmt(start)} to {_fmt(end)}: the window must keep covering them.",
                field="available_from" if start < listing.available_from else "available_until",
                extra={"from": _fmt(start), "until": _fmt(end)},
            )
    horizon_end = max((capacity.moment(end) for _s, end, _u in spans), default=now)
    peak = capacity.first_peak(spans, now, horizon_end, above=listing.quantity)
    if peak:
        start, end, used = peak
        raise CapacityCommitted(
            f"Orders hold {used} units from {_fmt(start)} to {_fmt(end)}: quantity cannot go below {used}.",
            field="quantity", extra={"from": _fmt(start), "until": _fmt(end), "committed": used},
        )  # fmt: skip
    listing.capacity = capacity.capacity_of(listing, spans, now)
    _published(listing)
