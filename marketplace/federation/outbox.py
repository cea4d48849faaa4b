"""The outbox: every change of a listing writes its event in the same transaction.

Events are numbered by a counter row that each writer updates and keeps locked until it
commits, so sequence numbers follow commit order, never wall-clock time.
"""

import uuid

import orjson
from joserfc import jws
from sqlalchemy import select, update
from sqlmodel import Session

from ..db import insert_for
from ..federation.keys import signing_key
from ..models import Listing, OutboxCounter, OutboxEvent
from ..models.types import utcnow

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


def record_change(*, session: Session, listing: Listing, op: str) -> OutboxEvent:
    """Write the signed event of a listing's change (op "upsert" or "delete") into the outbox."""
    epoch, seq = next_seq(session)
    event_id = str(uuid.uuid4())
    payload = orjson.dumps({
        "event_id": event_id, "listing_code": listing.code, "origin": listing.origin, "version": listing.version,
        "op": op, "epoch": epoch, "seq": seq, "occurred_at": utcnow().isoformat(),
        "listing": orjson.Fragment(listing.document),
    })  # fmt: skip
    event = OutboxEvent(event_id=event_id, epoch=epoch, seq=seq, listing_code=listing.code,
                        version=listing.version, payload=payload.decode())  # fmt: skip
    session.add(event)
    session.flush()
    return event


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
