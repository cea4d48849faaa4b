"""What operators look back on: round trips between nodes, sync lag over time, the price index, the audit log."""

from datetime import date, datetime

from sqlalchemy import Column, Date, Float, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class RttSample(SQLModel, table=True):
    """One measured round trip from this node (`from_code`) to another node's /healthz, in milliseconds."""

    __tablename__ = "rtt_sample"
    __table_args__ = (Index("ix_rtt_sample_link_at", "from_code", "to_code", "measured_at"),)

    id: int | None = Field(default=None, primary_key=True)
    from_code: str = Field(sa_column=Column(String(8), nullable=False))
    to_code: str = Field(sa_column=Column(String(8), nullable=False))
    rtt_ms: float = Field(sa_column=Column(Float, nullable=False))
    measured_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReportedLink(SQLModel, table=True):
    """National's copy of a link another node measured and served at /federation/v1/latency."""

    __tablename__ = "reported_link"

    from_code: str = Field(sa_column=Column(String(8), primary_key=True))
    to_code: str = Field(sa_column=Column(String(8), primary_key=True))
    rtt_ms_p50: float = Field(sa_column=Column(Float, nullable=False))
    rtt_ms_p95: float = Field(sa_column=Column(Float, nullable=False))
    measured_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SyncSample(SQLModel, table=True):
    """This node's sync lag at one moment, kept for the operations page's 24-hour chart."""

    __tablename__ = "sync_sample"

    id: int | None = Field(default=None, primary_key=True)
    measured_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    direction: str = Field(sa_column=Column(String(8), nullable=False))  # up | down
    lag_seconds: float = Field(sa_column=Column(Float, nullable=False))
    waiting: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class PriceIndexDay(SQLModel, table=True):
    """National's price index: the median price per GPU-hour of one GPU model on one day (fen)."""

    __tablename__ = "price_index_day"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    gpu_model: str = Field(sa_column=Column(String(100), primary_key=True))
    median_fen: int = Field(sa_column=Column(Integer, nullable=False))
    listings: int = Field(sa_column=Column(Integer, nullable=False))


class AuditEntry(SQLModel, table=True):
    """One line of the append-only audit log: who did what to which object, when, from where."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_action_at", "action", "at"),
        Index("ix_audit_entry_actor_at", "actor", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(sa_column=Column(String(254), nullable=False))  # an email, a node code, or "system"
    action: str = Field(sa_column=Column(String(40), nullable=False))  # e.g. sign_in, listing.publish
    object: str = Field(default="", sa_column=Column(String(120), nullable=False, index=True))
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    address: str = Field(default="", sa_column=Column(String(64), nullable=False))
    request_id: str = Field(default="", sa_column=Column(String(64), nullable=False))
