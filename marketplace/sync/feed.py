"""Down the tree: national's change feed of the merged catalogue, and every node's pull of it.

The functions flush; the caller (the push endpoint, the sync worker) owns the transaction.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from ..b64 import b64url_decode, b64url_encode
from ..db import insert_for
from ..errors import DomainError
from ..federation.client import call_node
from ..federation.http import AnswerTooLarge
from ..federation.outbox import next_seq
from ..identity.codes import NATIONAL_CODE
from ..models import CatalogueChange, OutboxCounter, Stream, SyncCursor
from ..models.types import utcnow
from .apply import Directory, EventRejected, VerifiedEvent, apply_events, verify_event
from .schemas import MAX_BIGINT, fitting

FEED_LIMIT = 500


class CursorExpired(DomainError):
    """The feed no longer reaches back to this cursor: resync from a snapshot."""

    status = 410
    reason = "cursor_expired"


class BadCursor(DomainError):
    """Not a cursor of this feed."""

    reason = "invalid_cursor"

    def __init__(self, message: str = "Not a cursor of this feed."):
        super().__init__(message, field="after", location="query")


@dataclass(frozen=True)
class FeedEntry:
    """An event to put in national's feed: which version of which listing, signed by its origin."""

    code: str
    origin: str
    version: int
    compact: str


def append_to_feed(session: Session, applied: list[VerifiedEvent] | list[FeedEntry]) -> None:
    """Record events in the feed, numbered in commit order, as signed by their origins.

    A version already in the feed stays as it is: two batches carrying the same event, applied side by
    side, may both have found it new. The numbers it would have taken are skipped (readers page by seq).
    """
    if not applied:
        return
    _epoch, last = next_seq(session, OutboxCounter.FEED, count=len(applied))
    first = last - len(applied) + 1
    once = insert_for(session, CatalogueChange).on_conflict_do_nothing(index_elements=["listing_code", "version"])
    session.execute(once, [
        {"seq": first + i, "listing_code": event.code, "origin": event.origin,
         "version": event.version, "jws": event.compact, "created_at": utcnow()}
        for i, event in enumerate(applied)
    ])  # fmt: skip


def encode_cursor(seq: int) -> str:
    return b64url_encode(f"feed1:{seq}".encode())


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, seq = b64url_decode(cursor).decode().partition(":")
        value = int(seq)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor() from None
    if kind != "feed1" or not 0 <= value <= MAX_BIGINT:
        raise BadCursor()
    return value


def read_feed(*, session: Session, after: str | None, limit: int) -> dict:
    """Events after the cursor, oldest first, at most `limit` and MAX_BATCH_BYTES of them; CursorExpired when they
    are no longer kept."""
    start = decode_cursor(after)
    oldest = session.scalar(select(func.min(CatalogueChange.seq)))
    if start and oldest is not None and start < oldest - 1:
        raise CursorExpired(f"The feed starts at {oldest}: resync from the snapshots.")
    rows = session.scalars(
        select(CatalogueChange).where(CatalogueChange.seq > start).order_by(CatalogueChange.seq).limit(limit + 1)
    ).all()
    page = rows[: fitting([row.jws for row in rows[:limit]])]
    last = page[-1].seq if page else start
    return {"events": [row.jws for row in page], "next_cursor": encode_cursor(last), "has_more": len(rows) > len(page)}


@dataclass
class PullReport:
    """What one pull did."""

    received: int
    applied: int
    has_more: bool
    rejected: list[str]


def feed_position(session: Session) -> str:
    """Where this node stands in national's feed (an opaque cursor; empty at the start)."""
    return session.scalar(select(SyncCursor.position).where(SyncCursor.stream == Stream.FEED)) or ""


def fetch_feed_page(*, national_url: str, after: str, limit: int = FEED_LIMIT) -> dict:
    """One page of national's feed; CursorExpired when it no longer reaches back to `after`.

    A page too large to read (a national that cuts its pages by count only) is asked for again with half as
    many events, down to one: the reader never stands still behind a page of long listings."""
    while True:
        params = {"limit": limit} | ({"after": after} if after else {})
        try:
            response = call_node("GET", f"{national_url}/federation/v1/changes", audience=NATIONAL_CODE,
                                 scope="listings:read", params=params)  # fmt: skip
            break
        except AnswerTooLarge:
            if limit == 1:
                raise
            limit //= 2
    if response.status_code == 410:
        raise CursorExpired(response.json().get("message", "cursor expired"))
    response.raise_for_status()
    return response.json()


def apply_feed_page(*, session: Session, page: dict, directory: Directory, own_code: str) -> PullReport:
    """Apply a page of national's feed and move this node's position past it; flushes."""
    verified, rejected = [], []
    for compact in page["events"]:
        try:
            event = verify_event(compact, caller=NATIONAL_CODE, directory=directory)
        except EventRejected as error:
            rejected.append(error.message)
            continue
        if event.origin != own_code:  # the origin has its own listings already, newer if anything
            verified.append(event)
    applied = apply_events(session, verified, own_code=own_code).count("applied")
    cursor = session.get(SyncCursor, Stream.FEED) or SyncCursor(stream=Stream.FEED)
    cursor.position, cursor.updated_at = page["next_cursor"], utcnow()
    session.add(cursor)
    session.flush()
    return PullReport(len(page["events"]), applied, page["has_more"], rejected)
