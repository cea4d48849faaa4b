"""Snapshots: one node's view of an origin's listings, as (code, version, sha256) and one digest."""

import hashlib

from sqlalchemy import select
from sqlmodel import Session

from ..models import Listing, OutboxEvent


def snapshot(*, session: Session, origin: str, own_code: str) -> dict:
    """What this node holds of `origin`'s listings; the digest is equal wherever the copies are."""
    query = select(Listing.code, Listing.version, Listing.document).where(Listing.origin == origin)
    if origin == own_code:
        # At the origin, only what was ever announced: drafts never leave their node.
        query = query.where(Listing.code.in_(select(OutboxEvent.listing_code)))
    rows = session.execute(query.order_by(Listing.code)).all()
    entries = [[code, version, hashlib.sha256(document.encode()).hexdigest()] for code, version, document in rows]
    digest = hashlib.sha256("".join(f"{c}:{v}:{h}\n" for c, v, h in entries).encode()).hexdigest()
    return {"listings": entries, "digest": digest}
