"""What the national authorization server remembers: spent assertion IDs and revoked tokens."""

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class SpentAssertion(SQLModel, table=True):
    """A client assertion's jti, accepted once; kept until the assertion would have expired."""

    __tablename__ = "spent_assertion"

    jti: str = Field(sa_column=Column(String(128), primary_key=True))
    client_id: str = Field(sa_column=Column(String(8), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class RevokedToken(SQLModel, table=True):
    """An access token revoked before its expiry (RFC 7009), by its jti."""

    __tablename__ = "revoked_token"

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(sa_column=Column(String(8), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    revoked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
