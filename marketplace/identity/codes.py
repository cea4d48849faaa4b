"""Resource identification codes: `<node code>-<serial>-<check>` (PROTOCOL.md §2)."""

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, text, update
from sqlmodel import Session
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_37_36

from ..db import insert_for
from ..errors import DomainError
from ..models import NodeSerial

NATIONAL_CODE = "N0"  # the one national node's code (PROTOCOL.md §2)
NODE_CODE_RE = r"(?:N0|R\d{2}|I[A-T]\d{2})"
SERIAL_LENGTH = 8
MAX_SERIAL = 36**SERIAL_LENGTH - 1
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CODE_SHAPE = re.compile(rf"^({NODE_CODE_RE})-([0-9A-Z]{{{SERIAL_LENGTH}}})-([0-9A-Z])$")


class InvalidCode(DomainError):
    """A string that is not a well-formed resource identification code; the message says why."""

    reason = "invalid_code"

    def __init__(self, message: str, *, location: str = "path"):
        super().__init__(message, field="code", location=location)


@dataclass(frozen=True)
class ResourceCode:
    """A parsed, checked resource identification code."""

    node_code: str
    serial: str

    def __str__(self) -> str:
        return format_code(self.node_code, self.serial)


def encode_serial(number: int) -> str:
    """The zero-padded base-36 form of a serial number."""
    if not 0 <= number <= MAX_SERIAL:
        raise ValueError(f"serial {number} is out of range")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(SERIAL_LENGTH, "0")


def check_character(node_code: str, serial: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character over node code and serial."""
    return mod_37_36.calc_check_digit(node_code + serial)


def format_code(node_code: str, serial: str) -> str:
    """The full code with its check character."""
    return f"{node_code}-{serial}-{check_character(node_code, serial)}"


def parse_code(raw: str) -> ResourceCode:
    """Parse a code given in any case; raise InvalidCode saying what is wrong."""
    candidate = raw.strip().upper()
    match = _CODE_SHAPE.match(candidate)
    if not match:
        raise InvalidCode(
            "Not a resource identification code: expected <node code>-<8 characters 0-9A-Z>-<check>, "
            "e.g. R44-00000A7Z-M."
        )
    node_code, serial, check = match.groups()
    try:
        mod_37_36.validate(node_code + serial + check)
    except ValidationError:
        raise InvalidCode(f"Wrong check character {check!r}: the code is mistyped.") from None
    return ResourceCode(node_code=node_code, serial=serial)


def mint_code(*, session: Session, node_code: str) -> str:
    """Take the next serial under `node_code` and return its code; serials are never reused (gaps may occur)."""
    if not re.fullmatch(NODE_CODE_RE, node_code):
        raise ValueError(f"not a node code: {node_code!r}")
    if session.get_bind().dialect.name == "postgresql":
        serial = _next_from_sequence(session, node_code)
    else:
        serial = _next_from_row(session, node_code)
    return format_code(node_code, encode_serial(serial))


def _sequence_name(node_code: str) -> str:
    return f"node_serial_{node_code.lower()}"


_NEXTVAL = select(func.nextval(func.to_regclass(bindparam("name"))))  # NULL while there is no sequence


def _next_from_sequence(session: Session, node_code: str) -> int:
    """PostgreSQL: a SEQUENCE per node code. Unlike a counter row it is not locked until commit, so
    minting does not queue every writer of the node behind one row; a rolled-back minter leaves a gap."""
    name = _sequence_name(node_code)
    serial = session.scalar(_NEXTVAL, {"name": name})
    if serial is None:
        # The first code under `node_code` in this database: concurrent first minters take turns here, and
        # the sequence goes on after the serials the counter row gave out (codes minted before it existed).
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
        first = _last_from_row(session, node_code) + 1
        session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {first:d}"))
        serial = session.scalar(_NEXTVAL, {"name": name})
    return serial


def _next_from_row(session: Session, node_code: str) -> int:
    """SQLite: one atomic increment of the node's counter row (its write transactions never overlap)."""
    serial = session.execute(
        update(NodeSerial)
        .where(NodeSerial.node_code == node_code)
        .values(last_serial=NodeSerial.last_serial + 1)
        .returning(NodeSerial.last_serial)
    ).scalar_one_or_none()
    if serial is None:
        # The node's first code: create its counter; a concurrent first minter may win the insert.
        first = insert_for(session, NodeSerial).values(node_code=node_code, last_serial=0)
        session.execute(first.on_conflict_do_nothing())
        return _next_from_row(session, node_code)
    return serial


def _last_from_row(session: Session, node_code: str) -> int:
    value = session.execute(select(NodeSerial.last_serial).where(NodeSerial.node_code == node_code)).scalar()
    return value or 0
