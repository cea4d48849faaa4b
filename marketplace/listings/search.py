"""Search over published listings: filters, full text, sorting, capped counts, keyset cursors."""

import base64
import binascii
import json
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal_column, select, table, tuple_
from sqlmodel import Session

from ..models import Listing

COUNT_CAP = 1000  # counts stop here: "1,000+" costs 0.2 ms, an exact count grows with the matches
MAX_TERMS = 8

# sort name -> (column, descending); every order ends with id in the same direction.
_SORTS = {
    "newest": (None, True),
    "price": (Listing.unit_price, False),
    "-price": (Listing.unit_price, True),
    "price_per_gpu": (Listing.price_per_gpu_hour, False),
}


class InvalidCursor(ValueError):
    """A cursor that this search did not hand out."""


@dataclass
class SearchPage:
    """One page of results and how to get the next."""

    items: list[Listing]
    page: int
    per_page: int
    total: int
    total_exact: bool
    next_cursor: str | None


def search_terms(q: str | None) -> list[str]:
    """The words of a free-text query, lower-cased, at most MAX_TERMS."""
    return re.findall(r"\w+", (q or "").lower())[:MAX_TERMS]


def _text_condition(session: Session, terms: list[str]) -> ColumnElement[bool]:
    """Prefix match of every term, by the backend's own full-text index."""
    if session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return literal_column("listing.search_vector").op("@@")(func.to_tsquery("simple", tsquery))
    fts_query = " ".join('"' + term.replace('"', '""') + '"*' for term in terms)
    matches = (
        select(literal_column("rowid"))
        .select_from(table("listing_fts"))
        .where(literal_column("listing_fts").op("MATCH")(fts_query))
    )
    return Listing.id.in_(matches)


def _filters(session: Session, params: dict) -> list[ColumnElement[bool]]:
    # A literal, not a parameter: the planner then knows the partial indexes apply (SQLite's above all).
    conditions: list[ColumnElement[bool]] = [Listing.status == literal_column("'published'")]
    if not params.get("include_stale"):
        conditions.append(Listing.stale_since.is_(None))  # origins unreachable for long are hidden
    equal = {"resource_type": Listing.resource_type, "gpu_model": Listing.gpu_model,
             "region": Listing.region, "origin": Listing.origin}  # fmt: skip
    for name, column in equal.items():
        if params.get(name) is not None:
            conditions.append(column == params[name])
    if params.get("min_gpus") is not None:
        conditions.append(Listing.gpu_count >= params["min_gpus"])
    if params.get("max_price") is not None:
        conditions.append(Listing.unit_price <= params["max_price"])
    if params.get("max_latency_ms") is not None:
        conditions.append(Listing.latency_ms <= params["max_latency_ms"])
    if params.get("available_at") is not None:
        moment = params["available_at"]
        conditions += [Listing.available_from <= moment, Listing.available_until > moment]
    if params.get("sort") == "price_per_gpu":
        conditions.append(Listing.price_per_gpu_hour.is_not(None))
    terms = search_terms(params.get("q"))
    if terms:
        conditions.append(_text_condition(session, terms))
    return conditions


def _encode_cursor(sort: str, last) -> str:
    """A cursor after `last` (a Listing, or a row with the sort column and id)."""
    column, _ = _SORTS[sort]
    value = getattr(last, column.key) if column is not None else None
    raw = json.dumps([sort, value, last.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_bigint(value) -> bool:
    """A JSON integer that fits the database's BIGINT (JSON's true is no integer here)."""
    return type(value) is int and -(2**63) <= value < 2**63


def _decode_cursor(sort: str, cursor: str) -> tuple[int | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidCursor("Not a cursor from this search.") from None
    if cursor_sort != sort:
        raise InvalidCursor("The cursor belongs to another sort order.")
    if not _is_bigint(last_id) or not (value is None or _is_bigint(value)):
        raise InvalidCursor("Not a cursor from this search.")
    return value, last_id


def _after(sort: str, value: int | None, last_id: int) -> ColumnElement[bool]:
    column, descending = _SORTS[sort]
    if column is None:
        return Listing.id < last_id if descending else Listing.id > last_id
    key, boundary = tuple_(column, Listing.id), tuple_(value, last_id)
    return key < boundary if descending else key > boundary


def _order_by(sort: str) -> list:
    column, descending = _SORTS[sort]
    columns = [Listing.id] if column is None else [column, Listing.id]
    return [c.desc() if descending else c.asc() for c in columns]


def _matching(conditions: list[ColumnElement[bool]]):
    """The matches, at most COUNT_CAP + 1 of them, as a subquery to count."""
    return select(literal_column("1")).select_from(Listing).where(*conditions).limit(COUNT_CAP + 1).subquery()


def count_capped(*, session: Session, conditions: list[ColumnElement[bool]]) -> tuple[int, bool]:
    """Count the matches up to COUNT_CAP; say whether the count is exact."""
    total = session.connection().execute(select(func.count()).select_from(_matching(conditions))).scalar_one()
    return (COUNT_CAP, False) if total > COUNT_CAP else (total, True)


def search_listings(*, session: Session, params: dict, documents: bool = False) -> SearchPage:
    """Find published listings by PROTOCOL.md §4's parameters (already validated).

    Items are Listing objects, or with `documents` just their stored JSON documents (the API's
    answer, read without building objects).
    """
    sort, per_page, page = params["sort"], params["per_page"], params["page"]
    conditions = _filters(session, params)
    if documents:
        sort_column = _SORTS[sort][0]
        # The capped count rides along as a column: one round trip for the whole answer.
        capped = select(func.count()).select_from(_matching(conditions)).scalar_subquery().label("capped_total")
        columns = [Listing.id, Listing.document, capped] + ([sort_column] if sort_column is not None else [])
        query = select(*columns).where(*conditions)
    else:
        query = select(Listing).where(*conditions)
    if params.get("cursor"):
        query = query.where(_after(sort, *_decode_cursor(sort, params["cursor"])))
    else:
        query = query.offset((page - 1) * per_page)
    query = query.order_by(*_order_by(sort)).limit(per_page + 1)
    # Documents need no ORM objects: the Core path skips the ORM's per-statement work.
    rows = session.connection().execute(query).all() if documents else session.scalars(query).all()
    next_cursor = _encode_cursor(sort, rows[per_page - 1]) if len(rows) > per_page else None
    items = [row.document for row in rows[:per_page]] if documents else list(rows[:per_page])
    if documents and rows:
        total = rows[0].capped_total
        total, exact = (COUNT_CAP, False) if total > COUNT_CAP else (total, True)
    else:
        total, exact = count_capped(session=session, conditions=conditions)
    return SearchPage(items, page, per_page, total, exact, next_cursor)
