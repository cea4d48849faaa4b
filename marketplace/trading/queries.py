"""Reading orders: a person's orders and sales, the node's orders, notifications, utilisation."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from ..i18n import _, _l
from ..i18n.messages import translate_message
from ..models import Listing, Order, OrderEvent, RemoteOrder, User
from . import capacity

EXPIRING_SOON = timedelta(minutes=15)
MAX_ORDER_ID = 2**31 - 1


@dataclass
class OrderPage:
    items: list[Order]
    per_page: int
    next_cursor: str | None


def list_orders(
    *, session: Session, user: User, as_role: str = "buyer", status: str | None = None,
    listing_code: str | None = None, cursor: str | None = None, per_page: int = 20,
) -> OrderPage:  # fmt: skip
    """Orders newest first: the user's as a buyer, their sales as a seller, or all of them for an operator."""
    query = select(Order)
    if as_role == "seller":
        query = query.where(Order.seller_id == user.id)
    elif as_role == "operator" and user.role == "operator":
        pass
    else:
        query = query.where(Order.buyer_id == user.id)
    if status:
        query = query.where(Order.status == status)
    if listing_code:
        query = query.where(Order.listing_code == listing_code.strip().upper())
    if cursor and int(cursor) <= MAX_ORDER_ID:
        query = query.where(Order.id < int(cursor))
    rows = list(session.scalars(query.order_by(Order.id.desc()).limit(per_page + 1)))
    next_cursor = str(rows[per_page - 1].id) if len(rows) > per_page else None
    return OrderPage(rows[:per_page], per_page, next_cursor)


# What a notification says of each kind of event: put in the reader's language when it is shown.
NOTE_TEXTS = {
    "expiring": _l("hold expires soon: pay or confirm"),
    "held": _l("held for you"),
    "confirmed": _l("confirmed"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired: the hold lapsed"),
    "refunded": _l("cancelled and refunded"),
    "access_given": _l("access details given"),
    "reported": _l("reported not delivered"),
}
# Where the seller of the order reads something else than its buyer.
SELLER_TEXTS = {"held": _l("held by a buyer")}
_WITH_REASON = ("cancelled", "refunded", "reported")  # the reason someone gave is part of the notification


@dataclass
class Notification:
    """Something that happened to an order, from its recorded event: worded only when read."""

    at: datetime
    kind: str
    order_code: str
    reason: str = ""
    to_seller: bool = False  # read by the order's seller, not its buyer

    @property
    def text(self) -> str:
        """What happened, in the reader's language, with the reason a person gave (as they wrote it)."""
        texts = SELLER_TEXTS if self.to_seller and self.kind in SELLER_TEXTS else NOTE_TEXTS
        what = str(texts.get(self.kind, self.kind))
        return _("%(what)s (%(reason)s)", what=what, reason=translate_message(self.reason)) if self.reason else what


def notifications_for(*, session: Session, user: User, now: datetime, limit: int = 50) -> list[Notification]:
    """What happened to the orders a person bought or sold, newest first, with holds about to lapse on top."""
    mine = or_(Order.buyer_id == user.id, Order.seller_id == user.id)
    events = session.execute(
        select(OrderEvent, Order.code, Order.buyer_id).join(Order, Order.id == OrderEvent.order_id).where(mine)
        .order_by(OrderEvent.id.desc()).limit(limit)
    ).all()  # fmt: skip
    soon = session.scalars(
        select(Order).where(mine, Order.status == "held", Order.hold_expires_at > now,
                            Order.hold_expires_at <= now + EXPIRING_SOON)
    ).all()  # fmt: skip
    notes = [Notification(o.hold_expires_at, "expiring", o.code, to_seller=o.buyer_id != user.id) for o in soon]
    happened = []
    for event, code, buyer_id in events:
        reason = event.reason if event.kind in _WITH_REASON else ""
        happened.append(Notification(event.created_at, event.kind, code, reason, to_seller=buyer_id != user.id))
    elsewhere = _held_elsewhere(session=session, user=user, now=now, limit=limit)
    notes += [note for note in elsewhere if note.kind == "expiring"]
    happened += [note for note in elsewhere if note.kind != "expiring"]
    return notes + sorted(happened, key=lambda note: note.at, reverse=True)[:limit]


def _held_elsewhere(*, session: Session, user: User, now: datetime, limit: int) -> list[Notification]:
    """What the person's orders held at other nodes went through, as their origins last answered: held, then
    the state each is in now (the origin keeps their history)."""
    notes = []
    for record in session.scalars(
        select(RemoteOrder).where(RemoteOrder.buyer_id == user.id).order_by(RemoteOrder.updated_at.desc()).limit(limit)
    ):  # fmt: skip
        notes.append(Notification(record.created_at, "held", record.code))
        if record.status in NOTE_TEXTS and record.status != "held":
            notes.append(Notification(_changed_at(record), record.status, record.code))
        elif record.status == "held" and record.hold_expires_at and now < record.hold_expires_at <= now + EXPIRING_SOON:
            notes.append(Notification(record.hold_expires_at, "expiring", record.code))
    return notes


def _changed_at(record: RemoteOrder) -> datetime:
    """When the origin last changed an order held there (its document's `updated_at`): this node's record is
    rewritten at every refresh, which is no news."""
    try:
        return datetime.fromisoformat(record.document["updated_at"])
    except (KeyError, TypeError, ValueError):
        return record.created_at


def utilisation(*, session: Session, listing: Listing, now: datetime, days: int = 30) -> float | None:
    """The share of unit-hours held or sold over the next `days` days of the listing's window (None: none left)."""
    start = max(now, listing.available_from)
    end = min(now + timedelta(days=days), listing.available_until)
    if end <= start or listing.quantity <= 0:
        return None
    spans = capacity.live_spans(session, listing.id, now=now, start=start, end=end)
    first, last = capacity.seconds(start), capacity.seconds(end)
    taken = sum((min(e, last) - max(s, first)) * units for s, e, units in spans)
    return taken / ((last - first) * listing.quantity)
