"""Orders a buyer of this node holds at other nodes (PROTOCOL.md §8, "Orders across nodes"), and order groups.

The origin keeps the order; this node keeps its own record of it (the origin's last document), refreshed
on view and by the sync worker. A group holds every part of an offer or none.
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class OrderGroup(SQLModel, table=True):
    """Parts of one offer, held all together or not at all; `key` is the buyer's Idempotency-Key."""

    __tablename__ = "order_group"
    __table_args__ = (UniqueConstraint("buyer_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    buyer_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="RESTRICT"), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))  # placing | held | failed
    # Kept while the group stands, so that a retry answers it; a failed group frees its key for a new try.
    key: str | None = Field(default=None, sa_column=Column(String(255)))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    failure: dict | None = Field(default=None, sa_column=Column(JSON))  # {"part", "reason", "message", ...}
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OrderGroupPart(SQLModel, table=True):
    """One part of a group: what was asked, the order it became (its code), and how it ended."""

    __tablename__ = "order_group_part"
    __table_args__ = (UniqueConstraint("group_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("order_group.id", ondelete="CASCADE"), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    listing_code: str = Field(sa_column=Column(String(20), nullable=False))
    origin: str = Field(sa_column=Column(String(8), nullable=False))
    units: int = Field(sa_column=Column(Integer, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expected_total: int | None = Field(default=None, sa_column=Column(BigInteger))
    order_code: str | None = Field(default=None, sa_column=Column(String(20)))
    # pending | held | failed | cancelled (released after another part failed) | release_pending | not_tried
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(40)))
    message: str | None = Field(default=None, sa_column=Column(Text))


class RemoteOrder(SQLModel, table=True):
    """This node's record of an order its buyer holds at the listing's origin node."""

    __tablename__ = "remote_order"
    __table_args__ = (
        Index("ix_remote_order_buyer", "buyer_id", "id"),
        Index("ix_remote_order_refresh", "status", "refreshed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    origin: str = Field(sa_column=Column(String(8), nullable=False))
    listing_code: str = Field(sa_column=Column(String(20), nullable=False))
    buyer_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="RESTRICT"), nullable=False))
    group_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("order_group.id")))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    units: int = Field(sa_column=Column(Integer, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    hold_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    payment_status: str = Field(sa_column=Column(String(16), nullable=False))
    # The origin's order document as last read: what the buyer is shown and what the API answers.
    document: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    refreshed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # Why the last refresh failed (the origin unreachable), cleared by the next good one.
    refresh_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
