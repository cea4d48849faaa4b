"""National watches its origins: listings of a node unreachable for long are marked stale, never deleted.

One rule says "unreachable": the node's last probe failed and its last healthy answer is `stale_after`
seconds old or more. The probe marks such a node's listings stale (search hides them); the sync status
shows the same.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from ..models import Listing, Node, Stream, SyncCursor
from ..models.types import utcnow

DEFAULT_STALE_AFTER = 3600  # seconds


def is_unreachable(health: SyncCursor | None, *, now: datetime, stale_after: float) -> bool:
    """The one definition: the last probe failed, and the last healthy answer is `stale_after` seconds old."""
    if health is None or health.last_error is None:
        return False  # never probed, or healthy at the last probe
    return now - health.updated_at >= timedelta(seconds=stale_after)


def active_nodes(session: Session) -> list[tuple[str, str]]:
    """(code, public URL) of every active node, to probe."""
    return list(session.execute(select(Node.code, Node.public_url).where(Node.status == "active")).all())


def record_probes(*, session: Session, reachable: dict[str, bool], stale_after: float) -> None:
    """Record the probes' answers; mark the listings of unreachable nodes stale and unmark the rest; flushes."""
    now = utcnow()
    for code, healthy in reachable.items():
        stream = Stream.health(code)
        cursor = session.get(SyncCursor, stream)
        if cursor is None:  # first probe: the node counts as heard from now, so it has stale_after to answer
            cursor = SyncCursor(stream=stream, updated_at=now)
        if healthy:
            cursor.updated_at, cursor.last_error, cursor.last_error_at = now, None, None
            session.execute(update(Listing).where(Listing.origin == code, Listing.stale_since.is_not(None))
                            .values(stale_since=None))  # fmt: skip
            session.add(cursor)
            continue
        cursor.last_error, cursor.last_error_at = "no healthy answer to /healthz", now
        if is_unreachable(cursor, now=now, stale_after=stale_after):
            session.execute(update(Listing).where(Listing.origin == code, Listing.stale_since.is_(None))
                            .values(stale_since=now))  # fmt: skip
        session.add(cursor)
    session.flush()
