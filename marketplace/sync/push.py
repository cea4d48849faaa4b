"""Up the tree: this node pushes its outbox, and the events it relays, to its parent.

These are the steps of a push; the sync worker runs them and owns the transactions, so that
no transaction (on SQLite: no write lock) is held while the parent is called.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlmodel import Session

from ..federation.client import call_node
from ..federation.outbox import signed_events
from ..models import CatalogueChange, OutboxEvent, Stream, SyncCursor
from ..models.types import utcnow
from .schemas import fitting

PUSH_CONCURRENCY = 3  # batches in flight at once: the parent applies them on all its cores


@dataclass
class PushReport:
    """What one push did."""

    sent: int
    acked_seq: int
    rejected: list[dict]


@dataclass
class Batch:
    """Events sent together, and the sequence number that acknowledges them all."""

    compacts: list[str]
    last_seq: int


def cursor_seq(session: Session, stream: str) -> int:
    """How far a sending stream has been acknowledged."""
    return session.scalar(select(SyncCursor.last_seq).where(SyncCursor.stream == stream)) or 0


def waiting_count(session: Session, parent_code: str) -> int:
    """Events waiting to go up to `parent_code`: this node's own and relayed ones past their cursors."""
    own = cursor_seq(session, Stream.outgoing(parent_code))
    relayed = cursor_seq(session, Stream.relayed(parent_code))
    waiting = session.scalar(select(func.count()).where(OutboxEvent.seq > own))
    passing = session.scalar(select(func.count()).where(CatalogueChange.seq > relayed))
    return (waiting or 0) + (passing or 0)


def own_batches(*, session: Session, parent_code: str, limit: int, concurrency: int) -> list[Batch]:
    """The next batches of this node's own events (each at most `limit` events and MAX_BATCH_BYTES), each signed
    (once); flushes the signatures. Events read but not batched go in the next round."""
    events = signed_events(session=session, after_seq=cursor_seq(session, Stream.outgoing(parent_code)),
                           limit=limit * concurrency)  # fmt: skip
    batches, start = [], 0
    while start < len(events):
        taken = events[start : start + fitting([event.jws for event in events[start : start + limit]])]
        batches.append(Batch([event.jws for event in taken], taken[-1].seq))
        start += len(taken)
        if len(batches) == concurrency:
            break
    return batches


def relay_batch(*, session: Session, parent_code: str, limit: int) -> Batch | None:
    """The children's events to pass on up, as signed by their origins, after what the parent has seen."""
    rows = session.execute(
        select(CatalogueChange.seq, CatalogueChange.jws)
        .where(CatalogueChange.seq > cursor_seq(session, Stream.relayed(parent_code)))
        .order_by(CatalogueChange.seq).limit(limit)
    ).all()  # fmt: skip
    rows = rows[: fitting([row.jws for row in rows])]
    return Batch([row.jws for row in rows], rows[-1].seq) if rows else None


def send_batch(code: str, url: str, compacts: list[str]) -> dict:
    """POST one batch to the parent's push endpoint; its answer."""
    response = call_node("POST", f"{url}/federation/v1/events", audience=code, scope="listings:write",
                         json={"events": compacts})  # fmt: skip
    response.raise_for_status()
    return response.json()


def send_batches(code: str, url: str, batches: list[Batch]) -> list[dict | Exception]:
    """Send batches side by side; each answer, or the error that stood in its way, in order."""
    app = current_app._get_current_object()

    def send(batch: Batch):
        with app.app_context():
            try:
                return send_batch(code, url, batch.compacts)
            except Exception as error:  # reported in order; what follows it is not acknowledged
                return error

    if len(batches) <= 1:
        return [send(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        return list(pool.map(send, batches))


def acknowledged(
    batches: list[Batch], answers: list[dict | Exception]
) -> tuple[int | None, int, list[dict], Exception | None]:
    """(last seq answered with every batch before it, events sent, rejected results, the first failure)."""
    last, sent, rejected = None, 0, []
    for batch, answer in zip(batches, answers, strict=True):
        if isinstance(answer, Exception):
            return last, sent, rejected, answer
        last, sent = batch.last_seq, sent + len(batch.compacts)
        rejected += [result for result in answer["results"] if result["status"] == "rejected"]
    return last, sent, rejected, None


def advance_send_cursor(session: Session, stream: str, seq: int | None) -> int:
    """Move a sending stream's cursor forward to `seq` (never back); flushes; the cursor's position."""
    cursor = session.get(SyncCursor, stream) or SyncCursor(stream=stream, last_seq=0)
    if seq is not None:
        cursor.last_seq = max(cursor.last_seq, seq)
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.flush()
    return cursor.last_seq
