"""Payments (PROTOCOL.md §9): each order's provider side, the ledger, Stripe's events, sellers' accounts."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow

LEDGER_KINDS = ("charge", "commission", "seller_share", "transfer", "payout", "refund")


class Payment(SQLModel, table=True):
    """How one order is paid: its provider and the provider's ids (a Checkout Session, its charge, a transfer)."""

    __tablename__ = "payment"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(sa_column=Column(Integer, ForeignKey("order.id"), nullable=False, unique=True))
    provider: str = Field(sa_column=Column(String(16), nullable=False))
    session_id: str | None = Field(default=None, sa_column=Column(String(255), unique=True))
    url: str | None = Field(default=None, sa_column=Column(String(2000)))
    payment_intent_id: str | None = Field(default=None, sa_column=Column(String(255), index=True))
    charge_id: str | None = Field(default=None, sa_column=Column(String(255)))
    transfer_id: str | None = Field(default=None, sa_column=Column(String(255)))
    fapiao_company: str | None = Field(default=None, sa_column=Column(String(200)))
    fapiao_uscc: str | None = Field(default=None, sa_column=Column(String(18)))
    fapiao_number: str | None = Field(default=None, sa_column=Column(String(40)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LedgerEntry(SQLModel, table=True):
    """One movement of money, in minor units; per order charge − refund = commission + seller's share.

    `reference` is the provider's id of the movement (a charge, refund, transfer or reversal): the same
    movement is never entered twice, whichever webhook, retry or reconciliation reports it.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("kind", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("order.id"), index=True))
    seller_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("user.id"), index=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    reference: str = Field(sa_column=Column(String(255), nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    actor: str = Field(default="system", sa_column=Column(String(254), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class StripeEvent(SQLModel, table=True):
    """A Stripe event received by the webhook: stored once by its id, the first delivery applies it."""

    __tablename__ = "stripe_event"

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    type: str = Field(sa_column=Column(String(100), nullable=False))
    object_id: str = Field(sa_column=Column(String(255), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SellerAccount(SQLModel, table=True):
    """A seller's connected Stripe Express account, where their shares are transferred."""

    __tablename__ = "seller_account"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id"), nullable=False, unique=True))
    stripe_account_id: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    payouts_enabled: bool = Field(default=False)
    details_submitted: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
