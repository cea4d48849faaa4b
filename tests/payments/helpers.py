"""Orders placed through the API of the node under test, and what the ledger and Stripe then hold."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.models import LedgerEntry, Order, Payment, StripeEvent
from marketplace.payments import ledger

ORDERS = "/api/v1/orders"


def hour(offset: int) -> str:
    """A whole UTC hour `offset` hours after the next one, as RFC 3339."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (base + timedelta(hours=offset)).isoformat()


def place(client, listing, auth, *, units: int = 1, start: int = 48, end: int = 52, **extra) -> dict:
    """Hold units through the API; the order document."""
    body = {"listing_code": listing.code, "units": units, "start": hour(start), "end": hour(end)} | extra
    response = client.post(ORDERS, json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def order_row(session, code: str) -> Order:
    session.expire_all()
    return session.scalars(select(Order).where(Order.code == code)).one()


def payment_row(session, code: str) -> Payment:
    return session.scalars(select(Payment).join(Order, Order.id == Payment.order_id).where(Order.code == code)).one()


def sums(session, code: str) -> dict:
    return ledger.sums_of(session, order_row(session, code).id)


def entries(session, code: str, kind: str) -> list[LedgerEntry]:
    order = order_row(session, code)
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order.id,
                                                          LedgerEntry.kind == kind)))  # fmt: skip


def assert_balanced(session) -> None:
    """Every order's entries add up: charge − refund = commission + seller's share, transfers within the share."""
    assert ledger.unbalanced(session) == []


def stored_events(session) -> int:
    return len(session.scalars(select(StripeEvent.id)).all())
