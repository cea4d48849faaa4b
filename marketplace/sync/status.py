"""Each node's sync state, for operators: how far events went up and came down, lag, errors."""

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, select
from sqlmodel import Session

from ..models import Listing, Node, OutboxEvent, SyncCursor
from ..models.types import utcnow

STALE_AFTER_SECONDS = 3600  # an origin not heard from this long is shown as unreachable


def record_error(session: Session, stream: str, message: str) -> None:
    """Keep the latest failure of a stream for the status page."""
    cursor = session.get(SyncCursor, stream) or SyncCursor(stream=stream)
    cursor.last_error, cursor.last_error_at = message[:2000], utcnow()
    session.add(cursor)
    session.commit()


def _age(moment: datetime | None) -> float | None:
    return None if moment is None else round((datetime.now(UTC) - moment).total_seconds(), 1)


def _cursor(session: Session, stream: str) -> dict:
    cursor = session.get(SyncCursor, stream)
    if cursor is None:
        return {"stream": stream, "last_seq": 0, "updated_at": None, "last_error": None, "last_error_at": None}
    return {"stream": stream, "last_seq": cursor.last_seq, "updated_at": cursor.updated_at,
            "last_error": cursor.last_error, "last_error_at": cursor.last_error_at}  # fmt: skip


def sync_status(*, session: Session) -> dict:
    """This node's outbox against its parent's acknowledgement, its feed position, and (national) every origin."""
    config = current_app.config
    own, role = config["NODE_CODE"], config["NODE_ROLE"]
    last_seq = session.scalar(select(func.max(OutboxEvent.seq))) or 0
    status: dict = {"node_code": own, "role": role, "outbox_last_seq": last_seq}
    if role != "national":
        parent_code = "N0" if role == "regional" else None
        # The parent's stream that has moved furthest: a worker that could not yet find its parent
        # records its errors under "out:parent", which must not hide the real one.
        stream = session.scalar(select(SyncCursor.stream).where(SyncCursor.stream.like("out:%"))
                                .order_by(SyncCursor.last_seq.desc(), SyncCursor.stream).limit(1))  # fmt: skip
        up = _cursor(session, stream or f"out:{parent_code or 'parent'}")
        oldest_waiting = session.scalar(
            select(func.min(OutboxEvent.created_at)).where(OutboxEvent.seq > up["last_seq"])
        )
        status["up"] = up | {"lag_events": last_seq - up["last_seq"], "lag_seconds": _age(oldest_waiting) or 0.0}
        status["down"] = _cursor(session, "feed:N0")
    else:
        status["origins"] = origins_status(session=session)
    return status


def origins_status(*, session: Session) -> list[dict]:
    """National: for every node, the last event applied from it and how long ago it was heard from."""
    rows = []
    for node in session.scalars(select(Node).order_by(Node.code)):
        cursor = session.get(SyncCursor, f"in:{node.code}")
        heard = cursor.updated_at if cursor else None
        listings = session.scalar(select(func.count()).select_from(Listing).where(Listing.origin == node.code))
        age = _age(heard)
        rows.append({"node_code": node.code, "status": node.status, "last_seq": cursor.last_seq if cursor else 0,
                     "last_heard_at": heard, "seconds_since": age, "listings": listings,
                     "unreachable": age is None or age > STALE_AFTER_SECONDS})  # fmt: skip
    return rows
