"""People and their API tokens."""

import secrets
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow

ROLES = ("seller", "buyer", "operator", "local_reviewer", "national_reviewer")


class User(SQLModel, table=True):
    """A person with an account at this node."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(254), unique=True, nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    organization: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # The person's subject at the national identity provider, once they signed in with it here.
    national_subject: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    # Part of every session cookie's user id: a new value (at sign-out, at a password change) ends
    # every session signed in before, though their cookies stay validly signed for 31 days.
    session_nonce: str = Field(
        default_factory=lambda: secrets.token_hex(16), sa_column=Column(String(32), nullable=False)
    )
    # A local reviewer's charge: a GB/T 2260 province code ("44") or a GB/T 4754 section letter ("J").
    # Without one a local reviewer reviews nothing.
    review_scope: str | None = Field(default=None, sa_column=Column(String(2)))
    # The interface language the person chose ('zh_CN', 'en'); None follows the browser.
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))

    # Flask-Login's protocol, written out so the model imports nothing of the app.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"


class ApiToken(SQLModel, table=True):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
