"""Up the tree: this node pushes its outbox to its parent (industry → regional → national)."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlmodel import Session

from ..federation.cache import app_cache
from ..federation.client import call_node, national_issuer
from ..federation.http import fetch
from ..models import CatalogueChange, SyncCursor
from ..models.types import utcnow
from .outbox import signed_events
from .schemas import MAX_BATCH


@dataclass
class PushReport:
    """What one push did."""

    sent: int
    acked_seq: int
    rejected: list[dict]


def parent() -> tuple[str, str]:
    """(code, URL) of the node this node pushes to."""
    config = current_app.config
    if config["NODE_ROLE"] == "regional":
        return "N0", national_issuer()

    def ask() -> str:
        entry = fetch("GET", f"{national_issuer()}/registry/v1/nodes/{config['NODE_CODE']}").json()
        return entry["parent"]

    return app_cache("parent", 3600).get("code", ask), config["PARENT_URL"]


def _send(code: str, url: str, compacts: list[str]) -> dict:
    response = call_node("POST", f"{url}/federation/v1/events", audience=code, scope="listings:write",
                         json={"events": compacts})  # fmt: skip
    response.raise_for_status()
    return response.json()


def push_once(*, session: Session, limit: int = MAX_BATCH) -> PushReport:
    """Send the next batch of this node's own events, then of the events it relays, to its parent."""
    code, url = parent()
    cursor = session.get(SyncCursor, f"out:{code}") or SyncCursor(stream=f"out:{code}", last_seq=0)
    events = signed_events(session=session, after_seq=cursor.last_seq, limit=limit)
    compacts = [event.jws for event in events]
    session.commit()  # the signatures are kept even if the parent is down, and no lock is held while calling it
    sent, rejected = 0, []
    if events:
        answer = _send(code, url, compacts)
        cursor = session.get(SyncCursor, f"out:{code}") or cursor
        cursor.last_seq = max(cursor.last_seq, int(answer["acked_seq"]))
        rejected += [result for result in answer["results"] if result["status"] == "rejected"]
        sent += len(events)
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.commit()
    relay_sent, relay_rejected = _relay_once(session, code, url, limit)
    return PushReport(sent + relay_sent, cursor.last_seq, rejected + relay_rejected)


def _relay_once(session: Session, code: str, url: str, limit: int) -> tuple[int, list[dict]]:
    """Pass the children's events on up, as signed by their origins, after what the parent has seen."""
    cursor = session.get(SyncCursor, f"relay:{code}")
    after = cursor.last_seq if cursor else 0
    rows = session.execute(
        select(CatalogueChange.seq, CatalogueChange.jws).where(CatalogueChange.seq > after)
        .order_by(CatalogueChange.seq).limit(limit)
    ).all()  # fmt: skip
    session.rollback()  # no transaction is held while the parent is called
    if not rows:
        return 0, []
    answer = _send(code, url, [row.jws for row in rows])
    # Each event was answered (applied, duplicate, stale or rejected): none is sent twice on purpose.
    cursor = session.get(SyncCursor, f"relay:{code}") or SyncCursor(stream=f"relay:{code}", last_seq=0)
    cursor.last_seq, cursor.updated_at = max(cursor.last_seq, rows[-1].seq), utcnow()
    session.add(cursor)
    session.commit()
    return len(rows), [result for result in answer["results"] if result["status"] == "rejected"]
