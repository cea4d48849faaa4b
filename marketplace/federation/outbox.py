"""The outbox: every change of a listing writes its event in the same transaction.

Events are numbered by a counter row that each writer updates and keeps locked until it
commits, so sequence numbers follow commit order, never wall-clock time. Every writer of the
node queues on that row, so it is taken as late as possible (an order takes it just before commit).
"""

import uuid

import orjson
from joserfc import jws
from sqlalchemy import bindparam, select, text, update
from sqlmodel import Session

from ..db import insert_for
from ..federation.keys import signing_key
from ..models import Listing, OutboxCounter, OutboxEvent
from ..models.types import UTCDateTime, utcnow

EVENT_TYP = "cpn-event+jws"


def next_seq(session: Session, counter: int = OutboxCounter.OUTBOX, count: int = 1) -> tuple[int, int]:
    """(epoch, last seq) after taking `count` numbers; the counter's row lock serializes writers until commit."""
    row = session.execute(
        update(OutboxCounter).where(OutboxCounter.id == counter).values(last_seq=OutboxCounter.last_seq + count)
        .returning(OutboxCounter.epoch, OutboxCounter.last_seq)
    ).first()  # fmt: skip
    if row is None:
        insert = insert_for(session, OutboxCounter).values(id=counter, epoch=1, last_seq=0).on_conflict_do_nothing()
        session.execute(insert)
        return next_seq(session, counter, count)
    return row.epoch, row.last_seq


def sign_event(payload: bytes) -> str:
    """A compact JWS of the event payload with this node's current key."""
    key = signing_key()
    return jws.serialize_compact({"alg": "ES256", "kid": key.kid, "typ": EVENT_TYP}, payload, key)


def record_change(*, session: Session, listing: Listing, op: str) -> None:
    """Write the signed event of a listing's change (op "upsert" or "delete") into the outbox."""
    event_id = str(uuid.uuid4())
    # The payload's bytes around its epoch and seq, which the counter gives: the same bytes as
    # orjson.dumps of the whole event, whose keys keep this order.
    head = orjson.dumps({"event_id": event_id, "listing_code": listing.code, "origin": listing.origin,
                         "version": listing.version, "op": op})[:-1] + b',"epoch":'  # fmt: skip
    tail = b"," + orjson.dumps({"occurred_at": utcnow().isoformat(), "listing": orjson.Fragment(listing.document)})[1:]
    row = {"event_id": event_id, "listing_code": listing.code, "version": listing.version, "created_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        _insert_numbered(session, row, head.decode(), tail.decode())
        return
    epoch, seq = next_seq(session)
    payload = head + str(epoch).encode() + b',"seq":' + str(seq).encode() + tail
    session.add(OutboxEvent(epoch=epoch, seq=seq, payload=payload.decode(), **row))
    session.flush()


# PostgreSQL: take the counter and insert the event in one statement (one round trip while the counter's
# row is locked, instead of two). Written once as text: built per order, the SQL construct cost more than
# the statement's round trip.
_INSERT_NUMBERED = text(
    "WITH counter AS (UPDATE outbox_counter SET last_seq = outbox_counter.last_seq + 1 WHERE outbox_counter.id = "
    ":counter RETURNING outbox_counter.epoch, outbox_counter.last_seq) "
    "INSERT INTO outbox_event (event_id, listing_code, version, created_at, epoch, seq, payload) "
    "SELECT :event_id, :listing_code, :version, :created_at, counter.epoch, counter.last_seq, "
    "CAST(:head AS TEXT) || CAST(counter.epoch AS TEXT) || ',\"seq\":' || CAST(counter.last_seq AS TEXT) "
    "|| CAST(:tail AS TEXT) FROM counter RETURNING outbox_event.seq"
).bindparams(bindparam("created_at", type_=UTCDateTime()), bindparam("counter", value=OutboxCounter.OUTBOX))


def _insert_numbered(session: Session, row: dict, head: str, tail: str) -> None:
    """PostgreSQL: number and insert the event in one statement (see _INSERT_NUMBERED)."""
    values = {**row, "head": head, "tail": tail}
    if session.execute(_INSERT_NUMBERED, values).first() is None:  # no counter row yet: the node's first event
        first = insert_for(session, OutboxCounter).values(id=OutboxCounter.OUTBOX, epoch=1, last_seq=0)
        session.execute(first.on_conflict_do_nothing())
        session.execute(_INSERT_NUMBERED, values)


def signed_events(*, session: Session, after_seq: int, limit: int) -> list[OutboxEvent]:
    """Events after `after_seq` in the current epoch, oldest first, each signed (once) for sending."""
    epoch = session.scalar(select(OutboxCounter.epoch).where(OutboxCounter.id == OutboxCounter.OUTBOX)) or 1
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.epoch == epoch, OutboxEvent.seq > after_seq)
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    events = list(session.scalars(query))
    for event in events:
        if event.jws is None:
            event.jws = sign_event(event.payload.encode())
    session.flush()
    return events
