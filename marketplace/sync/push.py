"""Up the tree: this node pushes its outbox to its parent (industry → regional → national)."""

from concurrent.futures import ThreadPoolExecutor
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


PUSH_CONCURRENCY = 3  # batches in flight at once: the parent applies them on all its cores


def _send_batches(code: str, url: str, batches: list[list[str]]) -> list[dict | Exception]:
    """Send batches side by side; each answer, or the error that stood in its way, in order."""
    app = current_app._get_current_object()

    def send(batch: list[str]):
        with app.app_context():
            try:
                return _send(code, url, batch)
            except Exception as error:  # reported in order; what follows it is not acknowledged
                return error

    if len(batches) <= 1:
        return [send(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        return list(pool.map(send, batches))


def push_once(*, session: Session, limit: int = MAX_BATCH, concurrency: int = PUSH_CONCURRENCY) -> PushReport:
    """Send the next batches of this node's own events, then of the events it relays, to its parent.

    Batches go side by side; the cursor moves to the end of the last batch that was answered with
    every batch before it answered too, so a failed batch and all after it are sent again.
    """
    code, url = parent()
    cursor = session.get(SyncCursor, f"out:{code}") or SyncCursor(stream=f"out:{code}", last_seq=0)
    events = signed_events(session=session, after_seq=cursor.last_seq, limit=limit * concurrency)
    session.commit()  # the signatures are kept even if the parent is down, and no lock is held while calling it
    batches = [events[i : i + limit] for i in range(0, len(events), limit)]
    answers = _send_batches(code, url, [[event.jws for event in batch] for batch in batches])
    sent, rejected, acknowledged, failure = 0, [], None, None
    for batch, answer in zip(batches, answers, strict=True):
        if isinstance(answer, Exception):
            failure = answer
            break
        acknowledged, sent = batch[-1].seq, sent + len(batch)
        rejected += [result for result in answer["results"] if result["status"] == "rejected"]
    cursor = session.get(SyncCursor, f"out:{code}") or cursor
    if acknowledged is not None:
        cursor.last_seq = max(cursor.last_seq, acknowledged)
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.commit()
    if failure is not None:
        raise failure
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
