"""Capacity over time: the units a listing's live orders take, and what is free, as intervals.

An order is live while it is `confirmed`, or `held` with its hold not yet lapsed: a lapsed hold
counts for nothing from the instant it lapses, whether or not a sweep has marked it expired.
Every placement locks the listing's row (PostgreSQL; SQLite's write transactions are already
serialised by BEGIN IMMEDIATE) and reads the live orders inside that same transaction.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, and_, bindparam, event, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session as SASession
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from ..listings.schemas import MAX_CAPACITY_INTERVALS
from ..models import Listing, Order

# [start, end) in Unix seconds, and the units taken. Seconds, not datetimes: a hot listing sums thousands of
# live orders per order, and reading and comparing plain integers costs a fraction of aware datetimes.
Span = tuple[int, int, int]


def seconds(moment: datetime) -> int:
    """An aware datetime as Unix seconds (spans and pieces are in seconds)."""
    return int(moment.timestamp())


def moment(unix_seconds: int) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(unix_seconds, UTC)


def span(start: datetime, end: datetime, units: int) -> Span:
    """An order's window and units as a span."""
    return seconds(start), seconds(end), units


class _unix_seconds(FunctionElement):
    """A timestamp column as whole Unix seconds, computed by the database."""

    type = BigInteger()
    inherit_cache = True


@compiles(_unix_seconds, "postgresql")
def _unix_seconds_postgresql(element, compiler, **kw):
    # FLOOR: a cast would round, where Python's int(timestamp()) truncates.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(_unix_seconds, "sqlite")
def _unix_seconds_sqlite(element, compiler, **kw):
    # SQLite keeps UTC datetimes as text without an offset (models/types.py's UTCDateTime); the fraction is cut
    # off first, as strftime would round it to milliseconds (…:59.9999 to the next second).
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


def live(now: datetime):
    """The SQL condition of an order that takes capacity at `now`."""
    return or_(Order.status == "confirmed", and_(Order.status == "held", Order.hold_expires_at > now))


_LOCKED = "trading.locked_listings"  # session.info key: ids of the listings this transaction has locked
_CONTENDED = "trading.contended_listings"  # and of those whose lock it had to wait for


def _locked_ids(session: Session) -> set[int]:
    return session.info.setdefault(_LOCKED, set())


def contended(session: Session, listing_id: int) -> bool:
    """Whether this transaction found the listing locked by another one and waited (never on SQLite, whose
    write transactions queue before they start)."""
    return listing_id in session.info.get(_CONTENDED, ())


@event.listens_for(SASession, "after_transaction_end")
def _forget_locks(session: SASession, _transaction) -> None:
    # Row locks last until the transaction ends, or until a rollback to a savepoint taken before them:
    # forgotten at the end of any transaction, savepoints included (locking again is harmless).
    session.info.pop(_LOCKED, None)
    session.info.pop(_CONTENDED, None)


# Built once (with bound parameters), not per order: building the constructs cost more than running them.
# Each first with SKIP LOCKED (no row: another transaction holds it, or there is none), then waiting.
_LOCK_BY_ID, _LOCK_BY_CODE = (
    tuple(
        select(Listing).where(column == bindparam(name)).with_for_update(skip_locked=skip)
        .execution_options(populate_existing=True)
        for skip in (True, False)
    )
    for column, name in ((Listing.id, "id"), (Listing.code, "code"))
)  # fmt: skip
class _overlaps(FunctionElement):
    """An order's window overlaps [start, end) (bound parameters `start` and `end`). Untyped: typed Boolean, it
    would be compared to 1 on SQLite, which then could not use the index's columns for the bounds."""

    inherit_cache = True


@compiles(_overlaps)
def _overlaps_default(element, compiler, **kw):
    return compiler.process(and_(Order.starts_at < _END, Order.ends_at > _START), **kw)


@compiles(_overlaps, "postgresql")
def _overlaps_postgresql(element, compiler, **kw):
    # The form migration 0024's GiST index answers: only the overlapping orders are read, not every order of
    # the listing that starts before `end` (thousands, on a listing that sells many orders).
    window = compiler.process(func.tstzrange(Order.starts_at, Order.ends_at), **kw)
    asked = compiler.process(func.tstzrange(_START, _END), **kw)
    return f"({window} && {asked})"


_START = bindparam("start", type_=Order.ends_at.type)
_END = bindparam("end", type_=Order.starts_at.type)
_LIVE = {
    (bounded_start, bounded_end): select(
        _unix_seconds(Order.starts_at), _unix_seconds(Order.ends_at), Order.units
    ).where(
        Order.listing_id == bindparam("listing_id"), live(bindparam("now", type_=Order.hold_expires_at.type)),
        *([_overlaps()] if bounded_start and bounded_end else
          [Order.starts_at < _END] if bounded_end else [Order.ends_at > _START] if bounded_start else []),
    )
    for bounded_start in (False, True) for bounded_end in (False, True)
}  # fmt: skip


def _locking(session: Session, queries: tuple, params: dict) -> Listing | None:
    skipping, waiting = queries
    listing = session.scalars(skipping, params).first()
    if listing is None and (listing := session.scalars(waiting, params).first()) is not None:
        session.info.setdefault(_CONTENDED, set()).add(listing.id)
    if listing is not None:
        _locked_ids(session).add(listing.id)
    return listing


def lock_listing(session: Session, listing_id: int) -> Listing:
    """The listing, re-read and locked until the transaction ends: orders of one listing queue here.

    Locked once per transaction: when this transaction holds the lock already, the row read under
    it is the one in the session, and no statement is sent.
    """
    if listing_id in _locked_ids(session) and (listing := session.get(Listing, listing_id)) is not None:
        return listing
    listing = _locking(session, _LOCK_BY_ID, {"id": listing_id})
    if listing is None:
        raise LookupError(f"No listing with id {listing_id}.")
    return listing


def lock_listing_by_code(session: Session, code: str) -> Listing | None:
    """The listing with this (checked, upper-case) code, read and locked in one statement; None if unknown."""
    return _locking(session, _LOCK_BY_CODE, {"code": code})


def lock_listing_row(session: Session, listing_id: int) -> None:
    """Lock the listing's row without re-reading it (changes pending in the session are flushed first)."""
    session.execute(select(Listing.id).where(Listing.id == listing_id).with_for_update())


def live_spans(
    session: Session, listing_id: int, *, now: datetime, start: datetime | None = None, end: datetime | None = None
) -> list[Span]:
    """The live orders of a listing (overlapping [start, end) when given) as spans."""
    params = {"listing_id": listing_id, "now": now}
    if start is not None:
        params["start"] = start
    if end is not None:
        params["end"] = end
    # Through the session's connection, not the ORM, and fetched at once: nothing is built per row but the row.
    return session.connection().execute(_LIVE[start is not None, end is not None], params).all()


def usage_steps(spans: list[Span], start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """The units taken over [start, end) as contiguous (from, until, used) pieces in seconds, equal ones merged."""
    start, end = seconds(start), seconds(end)
    if start >= end:
        return []
    # One pass over the spans (clipped to [start, end)): a hot listing's every order sums all its live orders.
    deltas = {start: 0, end: 0}
    delta = deltas.get
    for s, e, units in spans:
        if s < end and e > start:
            if s < start:
                s = start
            if e > end:
                e = end
            deltas[s] = delta(s, 0) + units
            deltas[e] = delta(e, 0) - units
    points = sorted(deltas)
    pieces: list[tuple[int, int, int]] = []
    used = 0
    for left, right in zip(points, points[1:], strict=False):
        used += deltas[left]
        if pieces and pieces[-1][2] == used:
            pieces[-1] = (pieces[-1][0], right, used)
        else:
            pieces.append((left, right, used))
    return pieces


def peak_usage(spans: list[Span], start: datetime, end: datetime) -> int:
    """The most units taken at any instant of [start, end)."""
    return max((used for _f, _u, used in usage_steps(spans, start, end)), default=0)


def first_peak(spans: list[Span], start: datetime, end: datetime, above: int) -> tuple[datetime, datetime, int] | None:
    """The first piece of [start, end) where more than `above` units are taken, or None."""
    piece = next((piece for piece in usage_steps(spans, start, end) if piece[2] > above), None)
    return piece and (moment(piece[0]), moment(piece[1]), piece[2])


def coarsen(intervals: list[tuple[int, int, int]], limit: int = MAX_CAPACITY_INTERVALS) -> list[tuple[int, int, int]]:
    """At most `limit` contiguous (from, until, free) intervals; merged ones report the lowest free units."""
    if len(intervals) <= limit:
        return intervals
    size = -(-len(intervals) // limit)  # ceiling division: consecutive groups of equal count
    groups = (intervals[i : i + size] for i in range(0, len(intervals), size))
    return [(group[0][0], group[-1][1], min(free for _f, _u, free in group)) for group in groups]


def horizon_start(listing: Listing, now: datetime) -> datetime:
    """Where a listing's published capacity starts: the current hour, or the window's start if later."""
    return max(listing.available_from, now.replace(minute=0, second=0, microsecond=0))


def capacity_of(listing: Listing, spans: list[Span], now: datetime) -> list[dict] | None:
    """§3's `capacity`: free units over the rest of the window; None when every unit is free throughout."""
    pieces = usage_steps(spans, horizon_start(listing, now), listing.available_until)
    if not any(used for _f, _u, used in pieces):
        return None
    quantity = listing.quantity
    intervals = coarsen([(f, u, quantity - used if used < quantity else 0) for f, u, used in pieces])
    return [{"from": moment(f), "until": moment(u), "free": free} for f, u, free in intervals]


def free_at(capacity: list[dict] | None, quantity: int, moment: datetime) -> int:
    """Free units at `moment` by a published capacity (absent: all of them)."""
    for interval in capacity or []:
        if interval["from"] <= moment < interval["until"]:
            return interval["free"]
    return quantity


def hourly_free(listing: Listing, now: datetime, hours: int) -> list[tuple[datetime, int]]:
    """(hour, free units) for `hours` whole hours from the current one, by the listing's published capacity."""
    first = now.replace(minute=0, second=0, microsecond=0)
    moments = (first + timedelta(hours=i) for i in range(hours))
    return [
        (moment, free_at(listing.capacity, listing.quantity, moment)
         if listing.available_from <= moment < listing.available_until else 0)
        for moment in moments
    ]  # fmt: skip
