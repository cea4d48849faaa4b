"""Down the tree: national's change feed of the merged catalogue, and every node's pull of it."""

import base64
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlmodel import Session

from ..db import insert_for
from ..federation.client import call_node, national_issuer
from ..models import CatalogueChange, OutboxCounter, SyncCursor
from ..models.types import utcnow
from .apply import Directory, EventRejected, apply_verified, verify_event
from .outbox import next_seq
from .schemas import MAX_BIGINT

FEED_LIMIT = 500
FEED_STREAM = "feed:N0"


class CursorExpired(Exception):
    """The feed no longer reaches back to this cursor: resync from a snapshot."""


class BadCursor(ValueError):
    """Not a cursor of this feed."""


def append_to_feed(session: Session, applied: list[tuple[dict, str]]) -> None:
    """Record applied (event, compact JWS) pairs in the feed, numbered in commit order.

    A version already in the feed stays as it is: two batches carrying the same event, applied side by
    side, may both have found it new. The numbers it would have taken are skipped (readers page by seq).
    """
    _epoch, last = next_seq(session, OutboxCounter.FEED, count=len(applied))
    first = last - len(applied) + 1
    once = insert_for(session, CatalogueChange).on_conflict_do_nothing(index_elements=["listing_code", "version"])
    session.execute(once, [
        {"seq": first + i, "listing_code": event["listing_code"], "origin": event["origin"],
         "version": event["version"], "jws": compact, "created_at": utcnow()}
        for i, (event, compact) in enumerate(applied)
    ])  # fmt: skip


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"feed1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, seq = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        value = int(seq)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("Not a cursor of this feed.") from None
    if kind != "feed1" or not 0 <= value <= MAX_BIGINT:
        raise BadCursor("Not a cursor of this feed.")
    return value


def read_feed(*, session: Session, after: str | None, limit: int) -> dict:
    """Events after the cursor, oldest first; CursorExpired when they are no longer kept."""
    start = decode_cursor(after)
    oldest = session.scalar(select(func.min(CatalogueChange.seq)))
    if start and oldest is not None and start < oldest - 1:
        raise CursorExpired(f"The feed starts at {oldest}: resync from the snapshots.")
    rows = session.scalars(
        select(CatalogueChange).where(CatalogueChange.seq > start).order_by(CatalogueChange.seq).limit(limit + 1)
    ).all()
    page = rows[:limit]
    last = page[-1].seq if page else start
    return {"events": [row.jws for row in page], "next_cursor": encode_cursor(last), "has_more": len(rows) > limit}


@dataclass
class PullReport:
    """What one pull did."""

    received: int
    applied: int
    has_more: bool


def pull_once(*, session: Session, directory: Directory, limit: int = FEED_LIMIT) -> PullReport:
    """Fetch the next page of national's feed and apply it; the cursor moves with what was applied."""
    own = current_app.config["NODE_CODE"]
    cursor = session.get(SyncCursor, FEED_STREAM)
    position = cursor.position if cursor else ""
    session.rollback()  # no transaction (on SQLite: no write lock) is held while national is asked
    params = {"limit": limit} | ({"after": position} if position else {})
    response = call_node("GET", f"{national_issuer()}/federation/v1/changes", audience="N0", scope="listings:read",
                         params=params)  # fmt: skip
    if response.status_code == 410:
        raise CursorExpired(response.json().get("message", "cursor expired"))
    response.raise_for_status()
    answer = response.json()
    verified = []
    for compact in answer["events"]:
        try:
            event, raw = verify_event(compact, caller="N0", directory=directory)
        except EventRejected as error:
            current_app.logger.warning("feed event not applied: %s", error)
            continue
        if event["origin"] != own:  # the origin has its own listings already, newer if anything
            verified.append((event, raw))
    applied = apply_verified(session, verified, own_code=own).count("applied") if verified else 0
    cursor = session.get(SyncCursor, FEED_STREAM) or SyncCursor(stream=FEED_STREAM)
    cursor.position, cursor.updated_at = answer["next_cursor"], utcnow()
    session.add(cursor)
    session.commit()
    return PullReport(len(answer["events"]), applied, answer["has_more"])
