"""Orders of this node's listings (PROTOCOL.md §8), their recorded transitions, and idempotency keys."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow

ORDER_STATUSES = ("held", "confirmed", "cancelled", "expired", "refunded")
PAYMENT_STATUSES = ("awaiting", "paid", "refund_pending", "refunded", "none")
_HELD = text("status = 'held'")


class Order(SQLModel, table=True):
    """Units of a listing for a window; held (until hold_expires_at) or confirmed ones take capacity."""

    __tablename__ = "order"
    __table_args__ = (
        # The orders that may take capacity, per listing: what every placement reads under the listing's lock.
        Index("ix_order_listing_status", "listing_id", "status", "starts_at"),
        Index("ix_order_buyer", "buyer_id", "id"),
        Index("ix_order_seller", "seller_id", "id"),
        Index("ix_order_held_expiry", "hold_expires_at", postgresql_where=_HELD, sqlite_where=_HELD),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    listing_id: int = Field(sa_column=Column(Integer, ForeignKey("listing.id", ondelete="RESTRICT"), nullable=False))
    listing_code: str = Field(sa_column=Column(String(20), nullable=False))
    origin: str = Field(sa_column=Column(String(8), nullable=False))
    seller_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="RESTRICT")))
    buyer_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="RESTRICT"), nullable=False))
    buyer_name: str = Field(sa_column=Column(String(100), nullable=False))
    buyer_org: str = Field(default="", sa_column=Column(String(200), nullable=False))
    buyer_node: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    units: int = Field(sa_column=Column(Integer, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    lines: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hold_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    payment_provider: str = Field(sa_column=Column(String(16), nullable=False))
    payment_status: str = Field(sa_column=Column(String(16), nullable=False))
    payment_reference: str | None = Field(default=None, sa_column=Column(String(200)))
    # Where the buyer pays (a Stripe Checkout Session's page), once the payments layer made one.
    payment_url: str | None = Field(default=None, sa_column=Column(String(2000)))
    # What the seller tells the buyer once confirmed: how to reach the machines or the endpoint.
    access_details: str | None = Field(default=None, sa_column=Column(Text))
    # The buyer says nothing was delivered: a flag for the seller and the operators.
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OrderEvent(SQLModel, table=True):
    """One thing that happened to an order (a transition, access given, a report): who, when, why.

    Append-only: a database trigger refuses updates and deletes.
    """

    __tablename__ = "order_event"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("order.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str = Field(sa_column=Column(String(16), nullable=False))
    actor_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("user.id")))
    actor: str = Field(sa_column=Column(String(254), nullable=False))  # an email, or "system"
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` an account sent with an order, the body it came with, and the order it made."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False))
    key: str = Field(sa_column=Column(String(255), nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("order.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
