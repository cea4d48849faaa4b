"""Search over published listings: filters, full text, sorting, capped counts, keyset cursors."""

import binascii
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Generic, Literal, TypeVar, overload

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    tuple_,
    union_all,
)
from sqlalchemy import text as text_clause
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session

from ..b64 import b64url_decode, b64url_encode
from ..errors import DomainError
from ..models import Listing
from .latency import path_table_json, path_table_within

COUNT_CAP = 1000  # counts stop here: "1,000+" costs 0.2 ms, an exact count grows with the matches
MAX_TERMS = 8

# The estimated latency to the buyer (§10) as whole microseconds, those without one last (near_city given).
LATENCY_KEY = "latency_key"
NO_ESTIMATE = 2**62
# sort name -> (column, descending); every order ends with id in the same direction.
SORT_ORDERS = {
    "newest": (None, True),
    "price": (Listing.unit_price, False),
    "-price": (Listing.unit_price, True),
    "price_per_gpu": (Listing.price_per_gpu_hour, False),
    "latency": (LATENCY_KEY, False),
}


class InvalidCursor(DomainError):
    """A cursor that this search did not hand out."""

    reason = "invalid_cursor"

    def __init__(self, message: str):
        super().__init__(message, field="cursor", location="query")


Item = TypeVar("Item", Listing, str)


@dataclass
class SearchPage(Generic[Item]):
    """One page of results and how to get the next: listings, or (documents=True) their stored JSON documents."""

    items: list[Item]
    page: int
    per_page: int
    total: int
    total_exact: bool
    next_cursor: str | None
    estimates: list[float | None] | None = None


def search_terms(q: str | None) -> list[str]:
    """The words of a free-text query, lower-cased, at most MAX_TERMS."""
    return re.findall(r"\w+", (q or "").lower())[:MAX_TERMS]


def _text_condition(dialect: str) -> ColumnElement[bool]:
    """Prefix match of every term (bound as "text"), by the backend's own full-text index."""
    if dialect == "postgresql":
        return literal_column("listing.search_vector").op("@@")(
            func.to_tsquery("simple", bindparam("text", type_=String))
        )
    matches = (
        select(literal_column("rowid"))
        .select_from(table("listing_fts"))
        .where(literal_column("listing_fts").op("MATCH")(bindparam("text", type_=String)))
    )
    return Listing.id.in_(matches)


def _text_query(dialect: str, terms: list[str], *, prefix: bool = True) -> str:
    """The value bound to "text": every term as a prefix (or, without `prefix`, as a whole word), in the
    backend's query language."""
    if dialect == "postgresql":
        return " & ".join(f"{term}:*" if prefix else term for term in terms)
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


# filter parameter -> its condition, with the value bound under the parameter's name
_CONDITIONS = {
    "resource_type": lambda: Listing.resource_type == bindparam("resource_type"),
    "gpu_model": lambda: Listing.gpu_model == bindparam("gpu_model"),
    "region": lambda: Listing.region == bindparam("region"),
    "origin": lambda: Listing.origin == bindparam("origin"),
    "min_gpus": lambda: Listing.gpu_count >= bindparam("min_gpus"),
    "price_unit": lambda: Listing.price_unit == bindparam("price_unit"),
    "currency": lambda: Listing.currency == bindparam("currency"),
    "max_price": lambda: Listing.unit_price <= bindparam("max_price"),
    "max_latency_ms": lambda: Listing.latency_ms <= bindparam("max_latency_ms"),
    "available_at": lambda: and_(Listing.available_from <= bindparam("available_at"),
                                 Listing.available_until > bindparam("available_at")),
}  # fmt: skip


def searchable(*, include_stale: bool = False) -> list[ColumnElement[bool]]:
    """What makes a listing show in search and in counts: published, and (by default) its origin not stale.

    'published' is a literal, not a parameter: the planner then knows the partial indexes apply.
    """
    conditions: list[ColumnElement[bool]] = [Listing.status == literal_column("'published'")]
    if not include_stale:
        conditions.append(Listing.stale_since.is_(None))  # origins unreachable for long are hidden
    return conditions


# A listing with `units` free throughout [start, end): its window covers it, it has the units, and no
# interval of its published capacity (Unix seconds, see CapacityIntervals) that overlaps has fewer free.
# On PostgreSQL one jsonpath call per row (no set-returning function and subplan per row): a tenth of a
# national catalogue carries 20 to 100 intervals. Strict mode: lax mode would unwrap each [from, until, free].
_BUSY_PATH = "strict $[*] ? (@[0] < $end && @[1] > $start && @[2] < $units)"
_FREE_SQLITE = (
    "NOT EXISTS (SELECT 1 FROM json_each(listing.capacity) WHERE json_extract(value, '$[0]') < :end_s "
    "AND json_extract(value, '$[1]') > :start_s AND json_extract(value, '$[2]') < :units)"
)


def _free(dialect: str) -> ColumnElement[bool]:
    """No interval of the listing's capacity overlapping [start, end) has fewer than `units` free."""
    if dialect == "postgresql":
        # The variables come as one JSON parameter ("busy_vars"): a constant the planner folds once.
        busy = func.jsonb_path_exists(
            literal_column("listing.capacity"), literal_column(f"'{_BUSY_PATH}'::jsonpath"),
            cast(bindparam("busy_vars", type_=String), JSONB),
        )  # fmt: skip
        return or_(Listing.capacity.is_(None), not_(busy))
    return text_clause(_FREE_SQLITE).bindparams(
        bindparam("start_s", type_=BigInteger), bindparam("end_s", type_=BigInteger), bindparam("units", type_=Integer)
    )


def estimate_sql(dialect: str) -> ColumnElement:
    """§10's estimate in SQL: the path time of the listing's city (in the JSON bound as "paths") + its access
    latency; NULL for a listing without a city."""
    paths = bindparam("paths", type_=String)
    if dialect == "postgresql":
        path = cast(cast(paths, JSONB).op("->>")(Listing.city_code), Float)
    else:
        path = func.json_extract(paths, literal('$."', String).concat(Listing.city_code).concat('"'))
    return path + func.coalesce(Listing.latency_ms, 0.0)


def _latency_key(dialect: str) -> ColumnElement:
    """Whole microseconds of the estimate (truncated, as latency.sort_key does), NO_ESTIMATE without one."""
    micro = estimate_sql(dialect) * 1000
    whole = cast(func.trunc(micro) if dialect == "postgresql" else micro, BigInteger)
    return func.coalesce(whole, literal(NO_ESTIMATE, BigInteger)).label(LATENCY_KEY)


def _near_condition(dialect: str) -> ColumnElement[bool]:
    """The estimate within max_latency_ms: a city among the near ones (an index can use that), then the sum."""
    return and_(Listing.city_code.in_(bindparam("near_codes", expanding=True)),
                estimate_sql(dialect) <= bindparam("max_latency_ms", type_=Float))  # fmt: skip


def _window_condition(dialect: str) -> ColumnElement[bool]:
    free = _free(dialect)
    return and_(
        Listing.available_from <= bindparam("start"), Listing.available_until >= bindparam("end"),
        Listing.quantity >= bindparam("units", type_=Integer), free,
    )  # fmt: skip


def _window_values(dialect: str, start, end, units: int) -> dict:
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    values = {"start": start, "end": end, "units": units}
    if dialect == "postgresql":
        return values | {"busy_vars": json.dumps({"start": start_s, "end": end_s, "units": units})}
    return values | {"start_s": start_s, "end_s": end_s}


def _filters(shape: "_Shape") -> list:
    """The search's own conditions, beside what makes a listing searchable."""
    # With near_city, max_latency_ms bounds the estimate to the buyer (§10), not the access latency alone.
    bounded = shape.near and "max_latency_ms" in shape.given
    conditions = [_CONDITIONS[name]() for name in shape.given if not (bounded and name == "max_latency_ms")]
    if bounded:
        conditions.append(_near_condition(shape.dialect))
    if shape.sort == "price_per_gpu":
        conditions.append(Listing.price_per_gpu_hour.is_not(None))
    if shape.text:
        condition = _text_condition(shape.dialect)
        # Many matches: walk the sort's index and test each row, hiding the condition from the text index
        # (IS TRUE is no operator an index serves), so the planner cannot pick the text index instead.
        conditions.append(condition.is_(true()) if shape.text_plan == "walk" else condition)
    if shape.window:
        conditions.append(_window_condition(shape.dialect))
    return conditions


def _branches(shape: "_Shape") -> list[list[ColumnElement[bool]]]:
    """The searched rows as one set of conditions, or with include_stale two: fresh and stale listings.

    Each set lies inside partial indexes (ix_listing_pub_…, or ix_listing_stale_… for stale ones), so the pages of
    include_stale=true merge two indexed reads instead of scanning every published listing.
    """
    if not shape.include_stale:
        return [searchable() + _filters(shape)]
    stale = [Listing.status == literal_column("'published'"), Listing.stale_since.is_not(None)]
    return [searchable() + _filters(shape), stale + _filters(shape)]


def _encode_cursor(value, last_id: int, sort: str) -> str:
    """A cursor after the row whose sort value and id are given."""
    return b64url_encode(json.dumps([sort, value, last_id], separators=(",", ":")).encode())


def _fits(value, bits: int) -> bool:
    """A JSON integer that fits a signed column of `bits` bits (JSON's true is no integer here)."""
    return type(value) is int and -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def _decode_cursor(sort: str, cursor: str) -> tuple[int | None, int]:
    try:
        raw = b64url_decode(cursor)
        cursor_sort, value, last_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidCursor("Not a cursor from this search.") from None
    if cursor_sort != sort:
        raise InvalidCursor("The cursor belongs to another sort order.")
    # Ids are INTEGER, prices BIGINT: a value beyond its column would fail in the database, not here.
    if not _fits(last_id, 32) or not (value is None or _fits(value, 64)):
        raise InvalidCursor("Not a cursor from this search.")
    return value, last_id


def _sort_column(sort: str, dialect: str):
    """The column (or, for latency, the expression) a sort orders by before id; None for newest."""
    column = SORT_ORDERS[sort][0]
    return _latency_key(dialect) if column == LATENCY_KEY else column


def _after(sort: str, dialect: str) -> ColumnElement[bool]:
    """Rows after the cursor's (bound as "after_value", "after_id") in the sort's order."""
    column, descending = _sort_column(sort, dialect), SORT_ORDERS[sort][1]
    last_id = bindparam("after_id", type_=Listing.id.type)
    if column is None:
        return Listing.id < last_id if descending else Listing.id > last_id
    key, boundary = tuple_(column, Listing.id), tuple_(bindparam("after_value", type_=column.type), last_id)
    return key < boundary if descending else key > boundary


def _order_by(shape: "_Shape") -> list:
    column, descending = _sort_column(shape.sort, shape.dialect), SORT_ORDERS[shape.sort][1]
    columns = [Listing.id] if column is None else [column, Listing.id]
    if shape.text_plan == "index":
        # Few matches: read them by the text index and sort them. "+ 0" keeps the sort's own index from
        # being walked instead (the walk is what turned a rare term into a read of the whole table).
        columns = [c + 0 for c in columns]
    return [c.desc() if descending else c.asc() for c in columns]


def _capped_count(branches: list[list[ColumnElement[bool]]]):
    """How many match, counting at most COUNT_CAP + 1 per set (bound as "cap": tests lower the cap)."""
    capped = [select(literal_column("1").label("one")).select_from(Listing).where(*conditions)
              .limit(bindparam("cap", type_=Integer)).subquery() for conditions in branches]  # fmt: skip
    matching = capped[0] if len(capped) == 1 else union_all(*(select(c.c.one) for c in capped)).subquery()
    return select(func.count()).select_from(matching)


def _keys(shape: "_Shape", branches: list[list[ColumnElement[bool]]]):
    """With two sets of conditions: the ids of each set's first rows in the sort's order (at most the page's
    offset + limit, bound as "branch_limit"), for the page to merge."""
    sets = []
    for conditions in branches:
        query = select(Listing.id).where(*conditions)
        query = query.where(_after(shape.sort, shape.dialect)) if shape.after else query
        sets.append(query.order_by(*_order_by(shape)).limit(bindparam("branch_limit", type_=Integer)).subquery())
    return union_all(*(select(s.c.id) for s in sets))


@dataclass(frozen=True)
class _Shape:
    """What a search's statements depend on, apart from the values bound into them."""

    dialect: str
    documents: bool
    sort: str
    given: tuple[str, ...]  # the filters of _CONDITIONS that have a value
    include_stale: bool
    text: bool
    after: bool  # a cursor rather than a page number
    window: bool = False  # start and end (and units) given
    near: bool = False  # near_city given: rows carry the estimate to the buyer
    # PostgreSQL's text searches are counted first: "index" (at most COUNT_CAP matches: read them all by the
    # text index and sort them) or "walk" (more: walk the sort's index, testing each row), else None.
    text_plan: str | None = None


@lru_cache(maxsize=1024)
def _statements(shape: _Shape):
    """(page statement, capped count statement) of a search shape, built once: a search only binds values.

    Rows carry the sort value (as "sort_value") and, with near_city, the estimate (as "estimate")."""
    branches = _branches(shape)
    count = _capped_count(branches)
    if len(branches) == 1:
        conditions = branches[0] + ([_after(shape.sort, shape.dialect)] if shape.after else [])
    else:
        conditions = [Listing.id.in_(_keys(shape, branches))]
    sort_column = _sort_column(shape.sort, shape.dialect)
    extra = [] if sort_column is None else [sort_column.label("sort_value")]
    if shape.near:
        extra.append(estimate_sql(shape.dialect).label("estimate"))
    if shape.documents:
        columns = [Listing.id, Listing.document, *extra]
        if shape.text_plan is None:  # the capped count rides along as a column: one round trip
            columns.append(count.scalar_subquery().label("capped_total"))
        query = select(*columns).where(*conditions)
    else:
        query = select(Listing, *extra).where(*conditions)
    query = query if shape.after else query.offset(bindparam("offset", type_=Integer))
    return query.order_by(*_order_by(shape)).limit(bindparam("limit", type_=Integer)), count


@overload
def search_listings(*, session: Session, params: dict, documents: Literal[False] = False) -> SearchPage[Listing]: ...
@overload
def search_listings(*, session: Session, params: dict, documents: Literal[True]) -> SearchPage[str]: ...
def search_listings(*, session: Session, params: dict, documents: bool = False) -> SearchPage:
    """Find published listings by PROTOCOL.md §4's parameters (already validated).

    Items are Listing objects, or with `documents` just their stored JSON documents (the API's
    answer, read without building objects).
    """
    sort, per_page, page = params["sort"], params["per_page"], params["page"]
    dialect, terms = session.get_bind().dialect.name, search_terms(params.get("q"))
    given = tuple(name for name in _CONDITIONS if params.get(name) is not None)
    values = {name: params[name] for name in given} | {"limit": per_page + 1, "cap": COUNT_CAP + 1}
    if terms:
        values["text"] = _text_query(dialect, terms)
    window = params.get("start") is not None and params.get("end") is not None
    if window:
        values |= _window_values(dialect, params["start"], params["end"], params.get("units") or 1)
    near = params.get("near_city")
    if near:
        bound = params.get("max_latency_ms")
        values["paths"] = path_table_json(near, bound)
        if bound is not None:
            values["near_codes"] = list(path_table_within(near, bound))
    if params.get("cursor"):
        values["after_value"], values["after_id"] = _decode_cursor(sort, params["cursor"])
    else:
        values["offset"] = (page - 1) * per_page
    shape = _Shape(dialect, documents, sort, given, bool(params.get("include_stale")), bool(terms),
                   bool(params.get("cursor")), window, bool(near))  # fmt: skip
    values["branch_limit"] = values["limit"] + values.get("offset", 0)
    total = None
    if terms and dialect == "postgresql":
        # The capped count reads only the matches (by the text index) and tells which page plan is cheap.
        # Whole words first: every listing they match, the prefixes match too, and a prefix of a common
        # word gathers every word it begins (slow); only when whole words match few are prefixes counted.
        capped = _statements(shape)[1]
        whole_words = values | {"text": _text_query(dialect, terms, prefix=False)}
        total = session.connection().execute(capped, whole_words).scalar_one()
        if total <= COUNT_CAP:
            total = session.connection().execute(capped, values).scalar_one()
        shape = replace(shape, text_plan="index" if total <= COUNT_CAP else "walk")
    query, count = _statements(shape)
    # Documents need no ORM objects: the Core path skips the ORM's per-statement work.
    rows = session.connection().execute(query, values).all() if documents else session.execute(query, values).all()
    if len(rows) > per_page:
        last = rows[per_page - 1]
        last_id = last.id if documents else last[0].id
        next_cursor = _encode_cursor(getattr(last, "sort_value", None), last_id, sort)
    else:
        next_cursor = None
    items = [row.document if documents else row[0] for row in rows[:per_page]]
    estimates = [row.estimate for row in rows[:per_page]] if near else None
    if total is None and documents and rows:
        total = rows[0].capped_total
    elif total is None:  # a page past the end still tells how many there are
        total = session.connection().execute(count, values).scalar_one()
    total, exact = (COUNT_CAP, False) if total > COUNT_CAP else (total, True)
    return SearchPage(items, page, per_page, total, exact, next_cursor, estimates)
