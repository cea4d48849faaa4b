"""Each node's sync state, for operators: how far events went up and came down, lag, errors."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from ..identity.codes import NATIONAL_CODE
from ..models import Listing, Node, OutboxEvent, Stream, SyncCursor
from ..models.types import utcnow
from .origins import is_unreachable


def record_sync_error(session: Session, stream: str, message: str) -> None:
    """Keep the latest failure of a stream for the status page; flushes."""
    cursor = session.get(SyncCursor, stream) or SyncCursor(stream=stream)
    cursor.last_error, cursor.last_error_at = message[:2000], utcnow()
    session.add(cursor)
    session.flush()


def _age(moment: datetime | None) -> float | None:
    return None if moment is None else round((datetime.now(UTC) - moment).total_seconds(), 1)


def _cursor(session: Session, stream: str) -> dict:
    cursor = session.get(SyncCursor, stream)
    if cursor is None:
        return {"stream": stream, "last_seq": 0, "updated_at": None, "last_error": None, "last_error_at": None}
    return {"stream": stream, "last_seq": cursor.last_seq, "updated_at": cursor.updated_at,
            "last_error": cursor.last_error, "last_error_at": cursor.last_error_at}  # fmt: skip


def sync_status(*, session: Session, node_code: str, role: str, stale_after: float) -> dict:
    """This node's outbox against its parent's acknowledgement, its feed position, and (national) every origin."""
    last_seq = session.scalar(select(func.max(OutboxEvent.seq))) or 0
    status: dict = {"node_code": node_code, "role": role, "outbox_last_seq": last_seq}
    if role == "national":
        status["origins"] = origins_status(session=session, stale_after=stale_after)
        return status
    # The parent's stream that has moved furthest: a worker that could not yet find its parent
    # records its errors under the "parent" placeholder, which must not hide the real one.
    stream = session.scalar(select(SyncCursor.stream).where(SyncCursor.stream.like(Stream.outgoing("%")))
                            .order_by(SyncCursor.last_seq.desc(), SyncCursor.stream).limit(1))  # fmt: skip
    parent_code = NATIONAL_CODE if role == "regional" else "parent"
    up = _cursor(session, stream or Stream.outgoing(parent_code))
    oldest_waiting = session.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.seq > up["last_seq"]))
    status["up"] = up | {"lag_events": last_seq - up["last_seq"], "lag_seconds": _age(oldest_waiting) or 0.0}
    status["down"] = _cursor(session, Stream.FEED)
    return status


def origins_status(*, session: Session, stale_after: float) -> list[dict]:
    """National: for every node, the last event applied from it, when it was last heard healthy, and whether
    it is unreachable by the one rule that also hides its listings from search."""
    now, rows = utcnow(), []
    for node in session.scalars(select(Node).order_by(Node.code)):
        cursor = session.get(SyncCursor, Stream.incoming(node.code))
        health = session.get(SyncCursor, Stream.health(node.code))
        heard = cursor.updated_at if cursor else None
        listings = session.scalar(select(func.count()).select_from(Listing).where(Listing.origin == node.code))
        unreachable = is_unreachable(health, now=now, stale_after=stale_after)
        rows.append({"node_code": node.code, "status": node.status, "last_seq": cursor.last_seq if cursor else 0,
                     "last_heard_at": heard, "seconds_since": _age(heard), "listings": listings,
                     "last_healthy_at": health.updated_at if health else None,
                     "unreachable": unreachable})  # fmt: skip
    return rows
