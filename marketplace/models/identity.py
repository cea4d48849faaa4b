"""The per-node counter behind resource identification codes."""

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel


class NodeSerial(SQLModel, table=True):
    """The last serial minted under a node code; serials are never reused."""

    __tablename__ = "node_serial"

    node_code: str = Field(sa_column=Column(String(8), primary_key=True))
    last_serial: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
