"""The national node's registry: applications, their reviews, and the node directory."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow

# A lapsed application was not decided within the review period; its code is free again.
APPLICATION_STATUSES = ("submitted", "initial_approved", "approved", "rejected", "lapsed")
NODE_STATUSES = ("active", "suspended")


class NodeApplication(SQLModel, table=True):
    """An organisation's application to build a node (PROTOCOL.md §7)."""

    __tablename__ = "node_application"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="submitted", sa_column=Column(String(20), nullable=False, index=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    requested_code: str = Field(sa_column=Column(String(8), nullable=False, index=True))
    province: str | None = Field(default=None, sa_column=Column(String(2)))
    industry: str | None = Field(default=None, sa_column=Column(String(1)))
    parent: str = Field(sa_column=Column(String(8), nullable=False))
    construction_entity: dict = Field(sa_column=Column(JSON, nullable=False))
    registered_capital_cny: int = Field(sa_column=Column(BigInteger, nullable=False))
    operating_entity: dict = Field(sa_column=Column(JSON, nullable=False))
    contact: dict = Field(sa_column=Column(JSON, nullable=False))
    public_url: str = Field(sa_column=Column(String(255), nullable=False))
    jwks: dict = Field(sa_column=Column(JSON, nullable=False))
    # The applicant follows the application with a token handed out once, at submission.
    access_token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    applicant_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("user.id"), index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Review(SQLModel, table=True):
    """One recorded decision on an application; append-only (a database trigger refuses changes)."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(
        sa_column=Column(Integer, ForeignKey("node_application.id"), nullable=False, index=True)
    )
    stage: str = Field(sa_column=Column(String(8), nullable=False))
    decision: str = Field(sa_column=Column(String(8), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reviewer_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id"), nullable=False))
    reviewer_email: str = Field(sa_column=Column(String(254), nullable=False))
    reviewer_role: str = Field(sa_column=Column(String(32), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Node(SQLModel, table=True):
    """An approved node in the directory; its code is never reused."""

    code: str = Field(sa_column=Column(String(8), primary_key=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    parent: str | None = Field(default=None, sa_column=Column(String(8), index=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    province: str | None = Field(default=None, sa_column=Column(String(2)))
    industry: str | None = Field(default=None, sa_column=Column(String(1)))
    public_url: str = Field(sa_column=Column(String(255), nullable=False))
    jwks: dict = Field(sa_column=Column(JSON, nullable=False))
    # Exact redirect URIs of the node as an OpenID Connect relying party.
    redirect_uris: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", sa_column=Column(String(16), nullable=False))
    application_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("node_application.id")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class NodeStatusChange(SQLModel, table=True):
    """A suspension or reactivation of a node, with who did it and why."""

    __tablename__ = "node_status_change"

    id: int | None = Field(default=None, primary_key=True)
    node_code: str = Field(sa_column=Column(String(8), ForeignKey("node.code"), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(sa_column=Column(String(254), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
