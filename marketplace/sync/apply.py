"""Applying events from other nodes: verify → partition → upsert → report what was applied.

An event is accepted only from its origin node or from a node above it in the registry's tree
(a relay), and only if it verifies with the origin's registered key and its listing is a v1
document exactly. A newer version is applied, an equal one is a duplicate, an older one is
stale. Each event stands alone: one that fails is rejected with its reason, never its batch.
The caller moves the cursors, appends to the feed and commits.
"""

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from marshmallow import ValidationError
from sqlalchemy import and_, case, select
from sqlmodel import Session

from ..b64 import b64url_decode
from ..db import insert_for
from ..errors import DomainError
from ..federation.directory import directory_entry
from ..federation.scopes import ALLOWED_ALGORITHMS
from ..identity.codes import parse_code
from ..listings.services import document_fields
from ..listings.vocabulary import price_per_gpu_hour
from ..models import Listing, Node, Stream, SyncCursor
from ..models.types import utcnow
from .schemas import EventSchema, RemoteListingSchema

_events, _listings = EventSchema(), RemoteListingSchema()


class EventRejected(DomainError):
    """Why one event of a batch is not applied."""

    reason = "event_rejected"


@dataclass(frozen=True)
class Directory:
    """What the receiver knows of the tree: a node's parent and its registered keys."""

    parent_of: Callable[[str], str | None]
    keys_of: Callable[[str], KeySet | None]


@dataclass(frozen=True)
class VerifiedEvent:
    """An event whose signature verified and whose listing is a valid v1 document."""

    payload: dict  # the event as loaded: event_id, listing_code, origin, version, op, epoch, seq, ...
    document: dict  # its listing, loaded
    compact: str  # the signed event, passed on untouched

    @property
    def code(self) -> str:
        return self.payload["listing_code"]

    @property
    def origin(self) -> str:
        return self.payload["origin"]

    @property
    def version(self) -> int:
        return self.payload["version"]


REASON_CHARS = 500  # a reason told back; the rest is cut, so that a batch's answer stays far below 1 MB
EVENT_ID_CHARS = 100  # event ids are UUIDs; a longer one is not told back


@dataclass(frozen=True)
class EventResult:
    """The answer for one pushed event (PROTOCOL.md §6)."""

    event_id: str | None
    status: str  # applied | duplicate | stale | rejected
    reason: str | None = None
    reason_code: str | None = None  # machine-readable, for metrics; not part of the answer

    def answer(self) -> dict:
        """As the push endpoint answers it: the reason cut to REASON_CHARS (a rejected event's text, an origin's
        name or a validation message, may be as long as the sender made it)."""
        reason = self.reason
        if reason is not None and len(reason) > REASON_CHARS:
            reason = reason[: REASON_CHARS - 1] + "…"
        return {"event_id": self.event_id, "status": self.status, "reason": reason}


@dataclass(frozen=True)
class BatchOutcome:
    """What a pushed batch did: one result per event in order, and the events that were applied."""

    results: list[EventResult]
    applied: list[VerifiedEvent]


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


def remote_directory() -> Directory:
    """National's directory as seen from another node (FetchRefused while national cannot be asked)."""
    return Directory(
        parent_of=lambda code: (directory_entry(code) or {}).get("parent"),
        keys_of=lambda code: KeySet.import_key_set(entry["jwks"]) if (entry := directory_entry(code)) else None,
    )


def unverified_payload(compact: str) -> dict:
    """The payload as sent; it is trusted only once the signature over these same bytes verifies."""
    try:
        loaded = orjson.loads(b64url_decode(compact.split(".")[1]))
    except (IndexError, ValueError):
        raise EventRejected("Not a compact JWS.", reason="not_a_jws") from None
    if not isinstance(loaded, dict):
        raise EventRejected("Malformed event: the payload is not a JSON object.", reason="malformed")
    return loaded


def may_send(directory: Directory, caller: str, origin: str) -> bool:
    """Whether `caller` is `origin` or above it in the tree."""
    code, hops = origin, 0
    while code is not None and hops < 4:
        if code == caller:
            return True
        code, hops = directory.parent_of(code), hops + 1
    return False


def _check_consistency(payload: dict, document: dict, origin: str) -> None:
    """The event and its listing agree, and the code is well formed and minted under the origin's prefix."""
    if payload["origin"] != origin or document["origin"] != origin or document["code"] != payload["listing_code"]:
        raise EventRejected("The event's origin and code disagree with its listing.", reason="inconsistent")
    if document["version"] != payload["version"]:
        raise EventRejected("The event's version disagrees with its listing.", reason="inconsistent")
    try:
        parsed = parse_code(document["code"])
    except DomainError as error:
        raise EventRejected(f"{document['code']}: {error.message}", reason="invalid_code") from None
    if str(parsed) != document["code"] or parsed.node_code != origin:
        raise EventRejected(f"{document['code']} was not minted by {origin}.", reason="foreign_code")
    if (payload["op"] == "delete") != (document["status"] == "retired"):
        raise EventRejected("A delete carries a retired listing, an upsert any other status.", reason="inconsistent")


def verify_event(compact: str, *, caller: str, directory: Directory) -> VerifiedEvent:
    """The event, if its origin may come from `caller`, it verifies, and its listing is a v1 document exactly."""
    payload = unverified_payload(compact)
    claimed = payload.get("origin")
    if not isinstance(claimed, str):
        raise EventRejected("Malformed event: it names no origin.", reason="malformed")
    if not may_send(directory, caller, claimed):
        raise EventRejected(f"{caller} may not send events of origin {claimed!r}.", reason="origin_not_below_caller")
    keys = directory.keys_of(claimed)
    if keys is None:
        raise EventRejected(f"No registered keys for {claimed}.", reason="no_keys")
    try:
        # The payload was parsed above from the very bytes the signature covers: no second parse.
        jws.deserialize_compact(compact, keys, algorithms=list(ALLOWED_ALGORITHMS))
    except (JoseError, ValueError) as error:
        message = f"The signature does not verify with {claimed}'s key: {error}"
        raise EventRejected(message, reason="bad_signature") from None
    try:
        event = _events.load(payload)
        document = _listings.load(event["listing"])
    except ValidationError as error:
        raise EventRejected(f"Malformed event: {error.messages}", reason="invalid_document") from None
    _check_consistency(event, document, claimed)
    return VerifiedEvent(payload=event, document=document, compact=compact)


def _row(verified: VerifiedEvent) -> dict:
    """The listing table's columns for a verified document of another node."""
    document = verified.document
    row = {name: document.get(name) for name in document_fields()}
    row.update(
        code=document["code"], origin=document["origin"], status=document["status"], version=document["version"],
        updated_at=document["updated_at"], seller_name=document["seller"]["name"],
        seller_org=document["seller"].get("org", ""), seller_id=None,
        document=orjson.dumps(verified.payload["listing"]).decode(),  # stored and served as the origin wrote it
        created_at=utcnow(),
        price_per_gpu_hour=price_per_gpu_hour(unit_price=document["unit_price"], price_unit=document["price_unit"],
                                              gpu_count=document.get("gpu_count")),
    )  # fmt: skip
    return row


def partition(session: Session, events: list[VerifiedEvent], *, own_code: str) -> tuple[list[str], list[VerifiedEvent]]:
    """The status of each event against what is stored ("applied", "duplicate", "stale", "rejected"), and the winners.

    One query reads the stored versions; of several versions of one listing in a batch, the newest wins.
    """
    codes = {event.code for event in events}
    stored = {code: (version, origin) for code, version, origin in session.execute(
        select(Listing.code, Listing.version, Listing.origin).where(Listing.code.in_(codes)))}  # fmt: skip
    statuses, winners = [], {}
    for event in events:
        current, origin = stored.get(event.code, (None, None))
        if origin == own_code:
            statuses.append("rejected")
        elif current is None or event.version > current:
            statuses.append("applied")
            stored[event.code] = (event.version, event.origin)
            winners[event.code] = event
        else:
            statuses.append("duplicate" if event.version == current else "stale")
    # In code order, so that concurrent batches lock the rows they share in the same order (no deadlock).
    return statuses, [winners[code] for code in sorted(winners)]


def upsert_listings(session: Session, winners: list[VerifiedEvent]) -> None:
    """Insert or update many listings at once; a stored newer version always wins (the guard in WHERE)."""
    if not winners:
        return
    rows = [_row(event) for event in winners]
    statement = insert_for(session, Listing.__table__)
    keep = ("code", "origin", "seller_id", "created_at")
    changing = {name: statement.excluded[name] for name in rows[0] if name not in keep}
    statement = statement.on_conflict_do_update(
        index_elements=["code"], set_=changing, where=Listing.__table__.c.version < statement.excluded.version
    )
    session.execute(statement, rows)


def apply_events(session: Session, events: list[VerifiedEvent], *, own_code: str) -> list[str]:
    """Apply verified events: partition, then one statement writes every winner; each event's status."""
    if not events:
        return []
    statuses, winners = partition(session, events, own_code=own_code)
    upsert_listings(session, winners)
    return statuses


def advance_cursors(session: Session, positions: dict[str, tuple[int, int]]) -> None:
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
    return session.scalar(select(SyncCursor.last_seq).where(SyncCursor.stream == Stream.incoming(origin))) or 0


def _event_id(compact: str) -> str | None:
    try:
        value = unverified_payload(compact).get("event_id")
    except EventRejected:
        return None
    return value if isinstance(value, str) and len(value) <= EVENT_ID_CHARS else None


def apply_batch(
    *, session: Session, caller: str, events: list[str], directory: Directory, own_code: str
) -> BatchOutcome:
    """Apply a pushed batch: verify each event, apply the good ones, move each origin's cursor; flushes.

    A rejected event stores nothing and fails nothing else. The caller appends `applied` to its feed.
    """
    slots: list[EventResult | None] = []
    verified: list[tuple[int, VerifiedEvent]] = []
    for compact in events:
        try:
            verified.append((len(slots), verify_event(compact, caller=caller, directory=directory)))
            slots.append(None)
        except EventRejected as error:
            slots.append(EventResult(_event_id(compact), "rejected", error.message, error.reason))
    statuses = apply_events(session, [event for _slot, event in verified], own_code=own_code)
    applied, positions = [], {}
    for (slot, event), status in zip(verified, statuses, strict=True):
        event_id = event.payload["event_id"]
        if status == "rejected":
            reason = f"{own_code} is the origin of {event.code}: only it changes it."
            slots[slot] = EventResult(event_id, status, reason, "own_listing")
            continue
        slots[slot] = EventResult(event_id, status)
        stream = Stream.incoming(event.origin)
        positions[stream] = max(positions.get(stream, (0, 0)), (event.payload["epoch"], event.payload["seq"]))
        if status == "applied":
            applied.append(event)
    advance_cursors(session, positions)
    session.flush()
    return BatchOutcome(results=[result for result in slots if result is not None], applied=applied)
