"""Up the tree: this node pushes its outbox to its parent (industry → regional → national)."""

from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session

from ..federation.cache import app_cache
from ..federation.client import call_node, national_issuer
from ..federation.http import fetch
from ..models import SyncCursor
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


def push_once(*, session: Session, limit: int = MAX_BATCH) -> PushReport:
    """Send the next batch of outbox events to the parent and remember how far it acknowledged."""
    code, url = parent()
    cursor = session.get(SyncCursor, f"out:{code}") or SyncCursor(stream=f"out:{code}", last_seq=0)
    events = signed_events(session=session, after_seq=cursor.last_seq, limit=limit)
    session.commit()  # the signatures are kept even if the parent is down
    if not events:
        return PushReport(0, cursor.last_seq, [])
    response = call_node("POST", f"{url}/federation/v1/events", audience=code, scope="listings:write",
                         json={"events": [event.jws for event in events]})  # fmt: skip
    response.raise_for_status()
    answer = response.json()
    cursor.last_seq = max(cursor.last_seq, int(answer["acked_seq"]))
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.commit()
    rejected = [result for result in answer["results"] if result["status"] == "rejected"]
    return PushReport(len(events), cursor.last_seq, rejected)
