"""Applying events from other nodes: checked origin, checked signature, newer versions win.

An event is accepted only from its origin node or from a node above it in the registry's tree
(a relay), and only if it verifies with the origin's registered key. A newer version is
applied, an equal one is a duplicate, an older one is stale. The receiver's cursor for each
origin moves in the same transaction as the listings it applied.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from marshmallow import ValidationError
from sqlalchemy import and_, case, select
from sqlmodel import Session

from ..db import insert_for
from ..federation.scopes import ALLOWED_ALGORITHMS
from ..listings.services import document_fields
from ..listings.vocabulary import price_per_gpu_hour
from ..models import Listing, Node, SyncCursor
from ..models.types import utcnow
from .schemas import EventSchema, RemoteListingSchema

_events, _listings = EventSchema(), RemoteListingSchema()


class EventRejected(Exception):
    """Why one event of a batch is not applied."""


@dataclass
class Directory:
    """What the receiver knows of the tree: a node's parent and its registered keys."""

    parent_of: Callable[[str], str | None]
    keys_of: Callable[[str], KeySet | None]


def national_directory(session: Session) -> Directory:
    """The registry itself, on the national node (each node looked up once per directory)."""
    nodes: dict[str, Node | None] = {}
    keys: dict[str, KeySet | None] = {}

    def node(code: str) -> Node | None:
        if code not in nodes:
            nodes[code] = session.get(Node, code)
        return nodes[code]

    def keys_of(code: str) -> KeySet | None:
        if code not in keys:
            found = node(code)
            keys[code] = KeySet.import_key_set(found.jwks) if found else None
        return keys[code]

    return Directory(parent_of=lambda code: node(code).parent if node(code) else None, keys_of=keys_of)


def _unverified_payload(compact: str) -> dict:
    """The payload as sent; it is trusted only once the signature over these same bytes verifies."""
    try:
        payload = compact.split(".")[1]
        loaded = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise EventRejected("Not a compact JWS.") from None
    if not isinstance(loaded, dict):
        raise EventRejected("Malformed event: the payload is not a JSON object.")
    return loaded


def may_send(directory: Directory, caller: str, origin: str) -> bool:
    """Whether `caller` is `origin` or above it in the tree."""
    code, hops = origin, 0
    while code is not None and hops < 4:
        if code == caller:
            return True
        code, hops = directory.parent_of(code), hops + 1
    return False


def verify_event(compact: str, *, caller: str, directory: Directory) -> tuple[dict, dict]:
    """The event's payload and listing document, if its origin may come from `caller` and it verifies.

    The payload's "listing" stays as sent (it is stored and served as is); "document" is it, loaded.
    """
    payload = _unverified_payload(compact)
    claimed = payload.get("origin")
    if not isinstance(claimed, str):
        raise EventRejected("Malformed event: it names no origin.")
    if not may_send(directory, caller, claimed):
        raise EventRejected(f"{caller} may not send events of origin {claimed!r}.")
    keys = directory.keys_of(claimed)
    if keys is None:
        raise EventRejected(f"No registered keys for {claimed}.")
    try:
        # The payload was parsed above from the very bytes the signature covers: no second parse.
        jws.deserialize_compact(compact, keys, algorithms=list(ALLOWED_ALGORITHMS))
        event = _events.load(payload)
        document = _listings.load(event["listing"])
    except (JoseError, ValueError) as error:
        raise EventRejected(f"The signature does not verify with {claimed}'s key: {error}") from None
    except ValidationError as error:
        raise EventRejected(f"Malformed event: {error.messages}") from None
    if event["origin"] != claimed or document["origin"] != claimed or document["code"] != event["listing_code"]:
        raise EventRejected("The event's origin and code disagree with its listing.")
    if document["version"] != event["version"]:
        raise EventRejected("The event's version disagrees with its listing.")
    if not document["code"].startswith(claimed + "-"):
        raise EventRejected(f"{document['code']} was not minted by {claimed}.")
    if (event["op"] == "delete") != (document["status"] == "retired"):
        raise EventRejected("A delete carries a retired listing, an upsert any other status.")
    event["document"] = document
    return event, event["listing"]


def _row(document: dict, raw: dict) -> dict:
    """The listing table's columns for a verified document of another node."""
    row = {name: document.get(name) for name in document_fields()}
    row.update(
        code=document["code"], origin=document["origin"], status=document["status"], version=document["version"],
        updated_at=document["updated_at"], seller_name=document["seller"]["name"],
        seller_org=document["seller"].get("org", ""), seller_id=None, document=orjson.dumps(raw).decode(),
        created_at=utcnow(),
        price_per_gpu_hour=price_per_gpu_hour(unit_price=document["unit_price"], price_unit=document["price_unit"],
                                              gpu_count=document.get("gpu_count")),
    )  # fmt: skip
    return row


def _upsert(session: Session, rows: list[dict]) -> None:
    """Insert or update many listings at once; a stored newer version always wins (the guard in WHERE)."""
    statement = insert_for(session, Listing.__table__)
    keep = ("code", "origin", "seller_id", "created_at")
    changing = {name: statement.excluded[name] for name in rows[0] if name not in keep}
    statement = statement.on_conflict_do_update(
        index_elements=["code"], set_=changing, where=Listing.__table__.c.version < statement.excluded.version
    )
    session.execute(statement, rows)


def apply_verified(session: Session, items: list[tuple[dict, dict]], *, own_code: str) -> list[str]:
    """Apply verified (event, listing) pairs in order: "applied", "duplicate" or "stale" for each.

    One query reads the stored versions, one statement writes every winner.
    """
    codes = {event["listing_code"] for event, _raw in items}
    stored = {code: (version, origin) for code, version, origin in session.execute(
        select(Listing.code, Listing.version, Listing.origin).where(Listing.code.in_(codes)))}  # fmt: skip
    statuses, winners = [], {}
    for event, raw in items:
        code, version = event["listing_code"], event["version"]
        current, origin = stored.get(code, (None, None))
        if origin == own_code:
            statuses.append("rejected")
        elif current is None or version > current:
            statuses.append("applied")
            stored[code] = (version, event["origin"])
            winners[code] = _row(event["document"], raw)
        else:
            statuses.append("duplicate" if version == current else "stale")
    if winners:
        # In code order, so that concurrent batches lock the rows they share in the same order (no deadlock).
        _upsert(session, [winners[code] for code in sorted(winners)])
    return statuses


def _advance_cursors(session: Session, positions: dict[str, tuple[int, int]]) -> None:
    """Move each stream's cursor to (epoch, seq), never back: one atomic upsert per stream.

    Batches of one origin may be applied side by side; the row is read and written by the
    database in one statement, so neither the first insert nor the moves race each other.
    A newer epoch (the origin restored its outbox) starts the count again.
    """
    table = SyncCursor.__table__
    for stream, (epoch, seq) in sorted(positions.items()):  # the same lock order in every transaction
        statement = insert_for(session, table).values(stream=stream, epoch=epoch, last_seq=seq, updated_at=utcnow())
        new = statement.excluded
        session.execute(statement.on_conflict_do_update(index_elements=["stream"], set_={
            "last_seq": case((table.c.epoch < new.epoch, new.last_seq),
                             (and_(table.c.epoch == new.epoch, table.c.last_seq < new.last_seq), new.last_seq),
                             else_=table.c.last_seq),
            "epoch": case((table.c.epoch < new.epoch, new.epoch), else_=table.c.epoch),
            "updated_at": new.updated_at,
        }))  # fmt: skip


def acked_seq(session: Session, origin: str) -> int:
    """The highest seq of `origin`'s own events this node has applied.

    Read with a query, not from the session's identity map: cursors move in SQL, past any copy it holds.
    """
    return session.scalar(select(SyncCursor.last_seq).where(SyncCursor.stream == f"in:{origin}")) or 0


def apply_batch(
    *, session: Session, caller: str, events: list[str], directory: Directory, own_code: str, on_applied=None
) -> dict:
    """Apply a pushed batch: one result per event; rejected events store nothing, the good ones apply.

    `on_applied(applied)` gets the (event, compact) pairs that were applied (national appends them to its feed).
    """
    results: list[dict] = []
    verified: list[tuple[int, dict, dict, str]] = []
    for compact in events:
        try:
            event, raw = verify_event(compact, caller=caller, directory=directory)
        except EventRejected as error:
            results.append({"event_id": _unverified_payload_id(compact), "status": "rejected", "reason": str(error)})
            continue
        verified.append((len(results), event, raw, compact))
        results.append({"event_id": event["event_id"], "status": None, "reason": None})
    statuses = apply_verified(session, [(event, raw) for _i, event, raw, _c in verified], own_code=own_code)
    applied, positions = [], {}
    for (index, event, _raw, compact), status in zip(verified, statuses, strict=True):
        results[index]["status"] = status
        if status == "rejected":
            results[index]["reason"] = f"{own_code} is the origin of {event['listing_code']}: only it changes it."
            continue
        stream = f"in:{event['origin']}"
        positions[stream] = max(positions.get(stream, (0, 0)), (event["epoch"], event["seq"]))
        if status == "applied":
            applied.append((event, compact))
    _advance_cursors(session, positions)
    if applied and on_applied is not None:
        on_applied(applied)
    session.flush()
    return {"results": results, "acked_seq": acked_seq(session, caller)}


def _unverified_payload_id(compact: str) -> str | None:
    try:
        value = _unverified_payload(compact).get("event_id")
    except EventRejected:
        return None
    return value if isinstance(value, str) else None
