"""What the national authorization server remembers: spent assertion IDs and revoked tokens."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
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


class AuthorizationCode(SQLModel, table=True):
    """A one-time code of the OpenID Connect authorization code flow, bound to its PKCE challenge."""

    __tablename__ = "authorization_code"

    code: str = Field(sa_column=Column(String(128), primary_key=True))
    client_id: str = Field(sa_column=Column(String(8), nullable=False))
    redirect_uri: str = Field(sa_column=Column(String(300), nullable=False))
    scope: str = Field(sa_column=Column(String(200), nullable=False))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False))
    nonce: str | None = Field(default=None, sa_column=Column(String(200)))
    code_challenge: str = Field(sa_column=Column(String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=Column(String(8), nullable=False))
    auth_time: int = Field(sa_column=Column(Integer, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    # authlib's AuthorizationCodeMixin and OpenID's extra accessors
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return "0"

    def get_amr(self) -> list[str]:
        return ["pwd"]
