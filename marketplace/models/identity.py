"""The per-node counter behind resource identification codes."""

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel


class NodeSerial(SQLModel, table=True):
    """The last serial minted under a node code; serials are never reused.

    On PostgreSQL a sequence per node code (`node_serial_<code>`, made on first use) mints instead,
    starting after this row's last serial.
    """

    __tablename__ = "node_serial"

    node_code: str = Field(sa_column=Column(String(8), primary_key=True))
    last_serial: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
