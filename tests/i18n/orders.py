"""Orders in every state a page shows, placed through the trading services at the real clock (pages read it)."""

from datetime import timedelta

from marketplace.models.types import utcnow
from marketplace.trading.services import (
    cancel_order,
    confirm_order,
    expire_holds,
    give_access,
    place_order,
    report_not_delivered,
)

from ..factories import make_user


def next_hour(hours: int = 0):
    """The whole hour `hours` after the next one (UTC)."""
    return utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1 + hours)


def place(session, listing, buyer, *, start: int = 24, end: int = 48, now=None, **kwargs):
    """One unit of `listing` held for `buyer` over [next_hour(start), next_hour(end))."""
    window = {"start": next_hour(start), "end": next_hour(end)}
    order, _created = place_order(session=session, listing=listing, buyer=buyer, units=1, now=now or utcnow(),
                                  node_code=listing.origin, **window, **kwargs)  # fmt: skip
    return order


def orders_of_every_state(session, listing, seller) -> dict:
    """A buyer and orders held, about to lapse, confirmed (access given, reported), cancelled, refunded, expired."""
    buyer = make_user(session, role="buyer", name="李娜", organization="西部智算研究院")
    held = place(session, listing, buyer)
    expiring = place(session, listing, buyer, hold_seconds=600)
    confirmed = place(session, listing, buyer)
    confirm_order(session=session, order=confirmed, actor=seller, reference="工行 20261201-0042", now=utcnow())
    access = "跳板机地址与账号已通过短信发送。"
    give_access(session=session, order=confirmed, actor=seller, details=access, now=utcnow())
    report_not_delivered(session=session, order=confirmed, actor=buyer, note="", now=utcnow())
    cancelled = place(session, listing, buyer, start=60, end=72)
    cancel_order(session=session, order=cancelled, actor=buyer, reason="计划有变。", now=utcnow())
    refunded = place(session, listing, buyer, start=60, end=72)
    confirm_order(session=session, order=refunded, actor=seller, reference="建行 20261201-0007", now=utcnow())
    cancel_order(session=session, order=refunded, actor=seller, reason="机房检修。", now=utcnow())
    expired = place(session, listing, buyer, start=80, end=90, now=utcnow() - timedelta(hours=2), hold_seconds=60)
    expire_holds(session=session, now=utcnow())
    return {"buyer": buyer, "held": held, "expiring": expiring, "confirmed": confirmed, "cancelled": cancelled,
            "refunded": refunded, "expired": expired}  # fmt: skip
