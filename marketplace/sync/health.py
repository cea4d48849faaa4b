"""National watches its origins: listings of a node unreachable for long are marked stale, never deleted."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlmodel import Session

from ..federation.http import FetchRefused, fetch
from ..models import Listing, Node, SyncCursor
from ..models.types import utcnow

DEFAULT_STALE_AFTER = 3600  # seconds


def probe_origins(*, session: Session) -> dict[str, bool]:
    """Ask every active node's /healthz; mark the listings of long-unreachable ones stale, unmark the rest."""
    stale_after = timedelta(seconds=current_app.config.get("SYNC_STALE_AFTER", DEFAULT_STALE_AFTER))
    nodes = session.execute(select(Node.code, Node.public_url).where(Node.status == "active")).all()
    session.rollback()  # the probes run with no transaction (on SQLite: no write lock) held
    reachable = {}
    for code, url in nodes:
        try:
            reachable[code] = fetch("GET", url + "/healthz").status_code == 200
        except FetchRefused:
            reachable[code] = False
    now = utcnow()
    for code, healthy in reachable.items():
        cursor = session.get(SyncCursor, f"health:{code}") or SyncCursor(stream=f"health:{code}")
        if healthy:
            cursor.updated_at = now
            session.execute(update(Listing).where(Listing.origin == code, Listing.stale_since.is_not(None))
                            .values(stale_since=None))  # fmt: skip
        elif now - cursor.updated_at >= stale_after:
            session.execute(update(Listing).where(Listing.origin == code, Listing.stale_since.is_(None))
                            .values(stale_since=now))  # fmt: skip
        session.add(cursor)
    session.commit()
    return reachable
