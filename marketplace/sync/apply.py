"""Applying events from other nodes: checked origin, checked signature, newer versions win.

An event is accepted only from its origin node or from a node above it in the registry's tree
(a relay), and only if it verifies with the origin's registered key. A newer version is
applied, an equal one is a duplicate, an older one is stale. The receiver's cursor for each
origin moves in the same transaction as the listings it applied.
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

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
    """The registry itself, on the national node."""

    def node(code):
        return session.get(Node, code)

    return Directory(
        parent_of=lambda code: node(code).parent if node(code) else None,
        keys_of=lambda code: KeySet.import_key_set(node(code).jwks) if node(code) else None,
    )


def _unverified_payload(compact: str) -> dict:
    try:
        payload = compact.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        raise EventRejected("Not a compact JWS.") from None


def may_send(directory: Directory, caller: str, origin: str) -> bool:
    """Whether `caller` is `origin` or above it in the tree."""
    code, hops = origin, 0
    while code is not None and hops < 4:
        if code == caller:
            return True
        code, hops = directory.parent_of(code), hops + 1
    return False


def verify_event(compact: str, *, caller: str, directory: Directory) -> tuple[dict, dict]:
    """The event's payload and listing document, if its origin may come from `caller` and it verifies."""
    claimed = _unverified_payload(compact).get("origin")
    if not isinstance(claimed, str):
        raise EventRejected("Malformed event: it names no origin.")
    if not may_send(directory, caller, claimed):
        raise EventRejected(f"{caller} may not send events of origin {claimed!r}.")
    keys = directory.keys_of(claimed)
    if keys is None:
        raise EventRejected(f"No registered keys for {claimed}.")
    try:
        payload = jws.deserialize_compact(compact, keys, algorithms=list(ALLOWED_ALGORITHMS)).payload
        event = _events.load(orjson.loads(payload))
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
    return event, event["listing"]


def _store(session: Session, existing: Listing | None, document: dict, raw: dict) -> Listing:
    listing = existing or Listing(code=document["code"], origin=document["origin"], seller_id=None)
    for name in document_fields():
        setattr(listing, name, document.get(name))
    listing.status, listing.version, listing.updated_at = (
        document["status"],
        document["version"],
        document["updated_at"],
    )
    listing.seller_name, listing.seller_org = document["seller"]["name"], document["seller"].get("org", "")
    listing.price_per_gpu_hour = price_per_gpu_hour(
        unit_price=listing.unit_price, price_unit=listing.price_unit, gpu_count=listing.gpu_count
    )
    listing.document = orjson.dumps(raw).decode()
    session.add(listing)
    return listing


def apply_event(session: Session, event: dict, raw_listing: dict, *, own_code: str) -> str:
    """Apply one verified event: "applied", "duplicate" or "stale"."""
    document = _listings.load(raw_listing)
    existing = session.scalars(select(Listing).where(Listing.code == document["code"])).first()
    if existing is not None and existing.origin == own_code:
        raise EventRejected(f"{own_code} is the origin of {document['code']}: only it changes it.")
    if existing is not None and document["version"] == existing.version:
        return "duplicate"
    if existing is not None and document["version"] < existing.version:
        return "stale"
    try:
        with session.begin_nested():
            _store(session, existing, document, raw_listing)
    except IntegrityError:
        return "duplicate"  # a concurrent batch stored it first; the next push settles any newer version
    return "applied"


def _advance_cursor(session: Session, stream: str, epoch: int, seq: int) -> None:
    cursor = session.get(SyncCursor, stream) or SyncCursor(stream=stream, epoch=epoch, last_seq=0)
    if epoch > cursor.epoch:
        cursor.epoch, cursor.last_seq = epoch, 0  # the origin restored its outbox: seq starts again
    if epoch == cursor.epoch and seq > cursor.last_seq:
        cursor.last_seq = seq
    cursor.updated_at = utcnow()
    session.add(cursor)


def acked_seq(session: Session, origin: str) -> int:
    """The highest seq of `origin`'s own events this node has applied."""
    cursor = session.get(SyncCursor, f"in:{origin}")
    return cursor.last_seq if cursor else 0


def apply_batch(
    *, session: Session, caller: str, events: list[str], directory: Directory, own_code: str, on_applied=None
) -> dict:
    """Apply a pushed batch: one result per event; rejected events store nothing, the good ones apply.

    `on_applied(event, compact)` runs for each applied event (national appends it to its feed).
    """
    results = []
    for compact in events:
        event_id = None
        try:
            event, raw = verify_event(compact, caller=caller, directory=directory)
            event_id = event["event_id"]
            status = apply_event(session, event, raw, own_code=own_code)
            _advance_cursor(session, f"in:{event['origin']}", event["epoch"], event["seq"])
            if status == "applied" and on_applied is not None:
                on_applied(event, compact)
            results.append({"event_id": event_id, "status": status, "reason": None})
        except EventRejected as error:
            results.append({"event_id": event_id or _unverified_payload_id(compact), "status": "rejected",
                            "reason": str(error)})  # fmt: skip
    session.flush()
    return {"results": results, "acked_seq": acked_seq(session, caller)}


def _unverified_payload_id(compact: str) -> str | None:
    try:
        value = _unverified_payload(compact).get("event_id")
    except EventRejected:
        return None
    return value if isinstance(value, str) else None
