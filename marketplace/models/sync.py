"""Sync of listings (PROTOCOL.md §6): this node's outbox and what it has seen from others."""

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Column, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class OutboxEvent(SQLModel, table=True):
    """A change of one of this node's listings, as the signed event every other node will apply.

    `seq` is assigned in commit order: writers take the outbox counter's row lock, held until
    they commit, so a later seq never commits before an earlier one.
    """

    __tablename__ = "outbox_event"
    __table_args__ = (UniqueConstraint("epoch", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(sa_column=Column(String(36), unique=True, nullable=False))
    epoch: int = Field(sa_column=Column(Integer, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    listing_code: str = Field(sa_column=Column(String(20), nullable=False, index=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    # Signed when first sent, with the key current then; relays pass the compact JWS on untouched.
    jws: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OutboxCounter(SQLModel, table=True):
    """Sequence counters: row OUTBOX for this node's outbox, row FEED for national's change feed."""

    __tablename__ = "outbox_counter"

    OUTBOX: ClassVar[int] = 1
    FEED: ClassVar[int] = 2

    id: int = Field(default=1, primary_key=True)
    epoch: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class Stream:
    """The names of sync streams, the keys of `SyncCursor`: one place that spells them."""

    FEED: ClassVar[str] = "feed:N0"  # national's change feed, as this node has pulled it
    OWN_TO_FEED: ClassVar[str] = "own:feed"  # national: its own events, as far as they entered its feed

    @staticmethod
    def incoming(origin: str) -> str:
        """Events of `origin` applied here (receiver's cursor)."""
        return f"in:{origin}"

    @staticmethod
    def outgoing(parent: str) -> str:
        """This node's own events acknowledged by `parent` (sender's cursor)."""
        return f"out:{parent}"

    @staticmethod
    def relayed(parent: str) -> str:
        """Children's events this node passed on to `parent`."""
        return f"relay:{parent}"

    @staticmethod
    def health(node: str) -> str:
        """National's last healthy answer from `node` (updated_at)."""
        return f"health:{node}"


class SyncCursor(SQLModel, table=True):
    """How far a stream has been applied (receiver) or acknowledged (sender), by stream name."""

    __tablename__ = "sync_cursor"

    stream: str = Field(sa_column=Column(String(40), primary_key=True))
    epoch: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # An opaque position handed out by the other side (national's feed cursor).
    position: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CatalogueChange(SQLModel, table=True):
    """National's change feed: every event it applied, in commit order, passed on as signed by its origin.

    Each version of a listing stands in it once (the unique constraint also serves lookups by code).
    """

    __tablename__ = "catalogue_change"
    __table_args__ = (UniqueConstraint("listing_code", "version"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    listing_code: str = Field(sa_column=Column(String(20), nullable=False))
    origin: str = Field(sa_column=Column(String(8), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    jws: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
