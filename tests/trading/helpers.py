"""Listings on whole hours and orders placed through the services, with a clock the test sets."""

from datetime import UTC, datetime, timedelta

from marketplace.trading.services import place_order

from ..factories import make_listing

NOW = datetime(2030, 3, 1, 9, 30, tzinfo=UTC)  # the tests' clock: half past nine, UTC
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    """The whole hour `hours` after the clock's next hour (10:00 UTC)."""
    return NOW.replace(minute=0) + HOUR * (1 + hours)


def sellable(session, seller, **overrides):
    """A published GPU listing (8 GPUs a unit, ¥20.50 per GPU-hour) available for 30 days from NOW."""
    values = {"quantity": 10, "available_from": (NOW - 2 * HOUR).isoformat(),
              "available_until": (NOW + timedelta(days=30)).isoformat()} | overrides  # fmt: skip
    return make_listing(session, seller, **values)


def order(session, listing, buyer, units=1, start=0, end=24, now=NOW, **kw):
    """Place an order of `units` for [at(start), at(end)) and return it."""
    placed, _created = place_order(session=session, listing=listing, buyer=buyer, units=units, start=at(start),
                                   end=at(end), now=now, node_code="R44", **kw)  # fmt: skip
    return placed
