"""Demand matching over the node's copy of the national catalogue (PROTOCOL.md §8, `POST /api/v1/matches`).

Offers are single listings that fill the demand alone and, when none does, combinations of listings
(of one node or several). Finding the cheapest combination is a covering knapsack problem (NP-hard);
combinations are made by the greedy rule "cheapest price per GPU-hour first; once the next listing could
cover what is still missing, the cheapest listing that covers it". The parts before the last are the
fractional optimum's (a lower bound of the best combination), and the last costs at most the fractional
optimum's rest plus one unit of the listing where the greedy order stopped: so a combination's total is
at most the best one's plus the price of one unit (over the window) of a listing of the pool.
Each query examines at most SCAN_LIMIT listings per GPU model (the cheapest per GPU-hour: an index
range), keeps at most MAX_CANDIDATES, and trying combinations stops at TIME_BUDGET_S: the answer comes
within its time bound whatever the catalogue's size, at the price of not seeing listings beyond the
SCAN_LIMIT cheapest of a model (under the price ceiling).
"""

import math
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import cached_property, lru_cache

from sqlalchemy import JSON, Float, Integer, Row, and_, bindparam, func, not_, select, type_coerce
from sqlalchemy import text as text_clause
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import Session

from ..listings.latency import estimate_ms, path_table_json, path_table_within
from ..listings.search import estimate_sql, searchable
from ..models import Listing
from .pricing import amount_of, whole_hours

SINGLES_PER_MODEL = 60  # single offers read per GPU model, cheapest per GPU-hour first
MAX_CANDIDATES = 400  # listings per GPU model that combinations may draw on
MAX_PARTS = 20  # a combination of more parts is no offer a buyer would reserve
SCAN_LIMIT = 2000  # listings per GPU model examined at most, cheapest per GPU-hour first
TIME_BUDGET_S = 0.02  # after this much time spent on combinations, no further node or site is tried...
ALWAYS_TRIED = 8  # ...beyond the largest few, which are always tried (the answer must not depend on load)
_ORDERED = (Listing.price_per_gpu_hour.asc(), Listing.id.asc())


@dataclass(frozen=True)
class Demand:
    """What a buyer asks for, as MatchSchema loaded it."""

    resource_type: str
    amount: int  # GPUs for `gpu`, else units
    start: datetime
    end: datetime
    currency: str
    gpu_models: tuple[str, ...] = ()
    max_price_per_gpu_hour: int | None = None
    regions: tuple[str, ...] = ()
    near_city: str | None = None
    max_latency_ms: float | None = None
    one_datacenter: bool = False
    limit: int = 10

    @property
    def hours(self) -> int:
        return whole_hours(self.start, self.end)

    @property
    def per_gpu(self) -> bool:
        return self.resource_type == "gpu"


@dataclass
class Candidate:
    """A listing that has at least one unit free throughout the window."""

    listing: Row  # the listing's _COLUMNS, read like a Listing's attributes
    free: int  # units free throughout the window
    size: int  # GPUs (or 1 unit) that one unit provides
    unit_total: Fraction  # the price of one unit over the window, exact
    estimate: float | None

    @cached_property
    def unit_cost(self) -> Fraction:
        """Price per GPU (or unit) over the window: the greedy order (sorted on many times: kept)."""
        return self.unit_total / self.size


@dataclass
class Part:
    """Units of one listing in an offer."""

    candidate: Candidate
    units: int

    @property
    def listing(self) -> Row:
        return self.candidate.listing

    @property
    def total(self) -> int:
        return math.ceil(self.candidate.unit_total * self.units)

    @property
    def provides(self) -> int:
        return self.units * self.candidate.size


@dataclass
class Offer:
    """One answer to a demand: its parts, what they provide and cost."""

    parts: list[Part]
    demand: Demand
    kind: str = "single"  # single | combination

    @property
    def total(self) -> int:
        return sum(part.total for part in self.parts)

    @property
    def provides(self) -> int:
        return sum(part.provides for part in self.parts)

    @property
    def price_per_hour_asked(self) -> Fraction:
        """Price per GPU-hour (or unit-hour) of what was asked for: over-filling is paid for, not used."""
        return Fraction(self.total, self.demand.amount * max(self.demand.hours, 1))

    @property
    def estimated_latency_ms(self) -> float | None:
        """The slowest part's estimate; None when a part has none (or no near_city was given)."""
        estimates = [part.candidate.estimate for part in self.parts]
        return None if any(e is None for e in estimates) else max(estimates, default=None)

    def key(self) -> tuple:
        return self.price_per_hour_asked, self.total, len(self.parts), [p.listing.id for p in self.parts]


@dataclass
class MatchResult:
    """The ranked offers, how many listings were read, and (with no offer) what excluded them."""

    offers: list[Offer]
    considered: int
    excluded: dict[str, int] | None = None
    exhausted: bool = field(default=False)  # the time budget ended the search for combinations


# --- reading candidates ----------------------------------------------------------------------------------


def _free_intervals_below(dialect: str, per_gpu: bool) -> str:
    """SQL: an interval of the listing's capacity overlapping the window with fewer free than needed
    (`:need` GPUs, or at least one unit)."""
    if dialect == "postgresql":
        free = "(v->>2)::bigint"
        base = ("jsonb_array_elements(listing.capacity) AS c(v) WHERE (v->>0)::bigint < :end_s "
                "AND (v->>1)::bigint > :start_s")  # fmt: skip
    else:
        free = "json_extract(value, '$[2]')"
        base = ("json_each(listing.capacity) WHERE json_extract(value, '$[0]') < :end_s "
                "AND json_extract(value, '$[1]') > :start_s")  # fmt: skip
    need = f"{free} * COALESCE(listing.gpu_count, 1) < :need" if per_gpu else f"{free} < :need"
    return f"SELECT 1 FROM {base} AND {need}"


@dataclass(frozen=True)
class Shape:
    """Which requirements a demand makes: demands of one shape share their SQL (only the values differ)."""

    dialect: str
    per_gpu: bool
    models: bool
    regions: bool
    ceiling: bool
    bounded: bool  # near_city with max_latency_ms

    @classmethod
    def of(cls, demand: Demand, dialect: str) -> "Shape":
        bounded = demand.near_city is not None and demand.max_latency_ms is not None
        return cls(dialect, demand.per_gpu, bool(demand.gpu_models), bool(demand.regions),
                   bool(demand.max_price_per_gpu_hour), bounded)  # fmt: skip


def _requirements(shape: Shape) -> dict[str, list]:
    """Each requirement of the demand as SQL conditions (values bound by _values); empty when not asked."""
    quantity = Listing.quantity * func.coalesce(Listing.gpu_count, 1) if shape.per_gpu else Listing.quantity
    bounded, dialect = shape.bounded, shape.dialect
    return {
        "currency": [Listing.currency == bindparam("currency")],
        "gpu_model": [Listing.gpu_model.in_(bindparam("models", expanding=True))] if shape.models else [],
        "region": [Listing.region.in_(bindparam("regions", expanding=True))] if shape.regions else [],
        "price": [Listing.price_per_gpu_hour <= bindparam("ceiling")] if shape.ceiling else [],
        "window": [Listing.available_from <= bindparam("start"), Listing.available_until >= bindparam("end"),
                   Listing.min_hours <= bindparam("hours", type_=Integer)],
        "latency": [Listing.city_code.in_(bindparam("near_codes", expanding=True)),
                    estimate_sql(dialect) <= bindparam("max_latency_ms", type_=Float)] if bounded else [],
        # `need`: GPUs (or units) that must be free throughout the window: the demand, or 1 for a part.
        "capacity": [quantity >= bindparam("need", type_=Integer),
                     text_clause(f"NOT EXISTS ({_free_intervals_below(dialect, shape.per_gpu)})")],
    }  # fmt: skip


def _base(shape: Shape) -> list:
    base = searchable() + [Listing.resource_type == bindparam("resource_type")]
    if shape.per_gpu:  # every GPU listing has one; saying so lets the (model, price per GPU-hour) index serve
        base.append(Listing.price_per_gpu_hour.is_not(None))
    return base


def _values(demand: Demand, *, need: int) -> dict:
    values = {"resource_type": demand.resource_type, "currency": demand.currency, "start": demand.start,
              "end": demand.end, "hours": demand.hours, "start_s": int(demand.start.timestamp()),
              "end_s": int(demand.end.timestamp()), "need": need, "models": list(demand.gpu_models),
              "regions": list(demand.regions), "ceiling": demand.max_price_per_gpu_hour}  # fmt: skip
    if demand.near_city:
        values["paths"] = path_table_json(demand.near_city, demand.max_latency_ms)
        if demand.max_latency_ms is not None:
            values["near_codes"] = list(path_table_within(demand.near_city, demand.max_latency_ms))
            values["max_latency_ms"] = demand.max_latency_ms
    return values


# What offers, prices and pages need of a listing: read as plain rows (no ORM objects, no stored document).
_COLUMNS = (
    Listing.id, Listing.code, Listing.origin, Listing.title, Listing.gpu_count, Listing.vcpus, Listing.storage_gb,
    Listing.bandwidth_gbps, Listing.price_unit, Listing.unit_price, Listing.quantity, Listing.region, Listing.city,
    Listing.city_code, Listing.datacenter, Listing.latency_ms, Listing.updated_at,
    type_coerce(Listing.capacity, JSON).label("raw_capacity"),
)  # fmt: skip


# What the scan reads of each listing: everything the requirements and offers need, not the stored
# document nor the text columns (the widest ones).
_SCANNED = [c for c in Listing.__table__.c if c.name not in ("document", "description", "search_vector")]


def _order(shape: Shape) -> tuple:
    return _ORDERED if shape.per_gpu else (Listing.unit_price.asc(), Listing.id.asc())


@lru_cache(maxsize=256)
def _scan(shape: Shape, one_model: bool):
    """The statement that reads the candidates of one GPU model (or of any, without `one_model`)."""
    requirements, order = _requirements(shape), _order(shape)
    same_model = [Listing.gpu_model == bindparam("model")] if one_model else []
    # The time bound: only the SCAN_LIMIT cheapest of the model (one index range, walked in order) are
    # examined. The rest of the demand is checked on those rows as the walk yields them, and the walk
    # stops once `per_model` qualify. Named "listing", so the capacity check's SQL reads its columns.
    cheapest = (select(*_SCANNED).where(*_base(shape), *same_model, *requirements["price"]).order_by(*order)
                .limit(SCAN_LIMIT).subquery("listing"))  # fmt: skip
    rest = [c for name, cs in requirements.items() if name not in ("gpu_model", "price") for c in cs]
    on_listing = select(*_COLUMNS).where(*rest).order_by(*order).limit(bindparam("per_model", type_=Integer))
    return ClauseAdapter(cheapest).traverse(on_listing)  # the same query over the cheapest only


def _read(session: Session, demand: Demand, *, whole: bool, per_model: int) -> list:
    """Listings satisfying the demand (each able to fill it alone, or with one unit free), cheapest per
    GPU-hour first, at most `per_model` per GPU model: one indexed walk per model."""
    shape = Shape.of(demand, session.get_bind().dialect.name)
    values = _values(demand, need=demand.amount if whole else 1) | {"per_model": per_model}
    query = _scan(shape, bool(demand.gpu_models))
    rows = []
    with _walked_in_order(session):
        for model in demand.gpu_models or (None,):
            rows += session.connection().execute(query, values | {"model": model}).all()
    return rows


@contextmanager
def _walked_in_order(session: Session):
    """PostgreSQL: the cheapest SCAN_LIMIT are read by walking the index in order, never by a bitmap of the
    whole price range sorted afterwards. When a model has a few thousand listings under the ceiling, the
    planner estimates the walk reads most of them and picks the bitmap; underestimated (18,444 rows of one
    model, not 2,332), that read 140 ms instead of 7."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    connection = session.connection()
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    try:
        yield
    finally:
        connection.exec_driver_sql("SET LOCAL enable_bitmapscan = DEFAULT")


def _free_units(raw: list | None, quantity: int, start_s: int, end_s: int) -> int:
    """Units free throughout [start, end) by a listing's capacity ([[from_s, until_s, free], ...])."""
    free = quantity
    for begin, until, units in raw or ():
        if begin < end_s and until > start_s and units < free:
            free = units
    return free


def _candidates(rows: Iterable, demand: Demand) -> list[Candidate]:
    start_s, end_s, hours = int(demand.start.timestamp()), int(demand.end.timestamp()), demand.hours
    found, seen = [], set()
    for listing in rows:
        raw = listing.raw_capacity
        if listing.id in seen:
            continue
        seen.add(listing.id)
        free = _free_units(raw, listing.quantity, start_s, end_s)
        if free < 1:
            continue
        amount, _how = amount_of(listing, 1, hours)
        size = (listing.gpu_count or 1) if demand.per_gpu else 1
        estimate = estimate_ms(demand.near_city, listing.city_code, listing.latency_ms) if demand.near_city else None
        found.append(Candidate(listing, free, size, listing.unit_price * amount, estimate))
    return found


# --- offers -------------------------------------------------------------------------------------------------


def _single(candidate: Candidate, demand: Demand) -> Offer | None:
    units = -(-demand.amount // candidate.size)
    if units > candidate.free:
        return None
    return Offer([Part(candidate, units)], demand)


def greedy_combination(candidates: list[Candidate], demand: Demand) -> Offer | None:
    """Cheapest per GPU first; when the next listing would cover the rest, the cheapest cover of the rest.

    Total ≤ the best combination's + one unit of the listing where the order stopped (module docstring)."""
    return _greedy(sorted(candidates, key=_greedy_order), demand)


def _greedy_order(candidate: Candidate) -> tuple:
    return candidate.unit_cost, candidate.listing.id


def _greedy(ordered: list[Candidate], demand: Demand) -> Offer | None:
    """greedy_combination over candidates already in its order."""
    missing, parts = demand.amount, []
    for i, candidate in enumerate(ordered):
        if candidate.free * candidate.size >= missing:
            covers = [Part(c, -(-missing // c.size)) for c in ordered[i:] if c.free * c.size >= missing]
            parts.append(min(covers, key=lambda p: (p.total, p.listing.id)))
            return Offer(parts, demand, "combination") if len(parts) <= MAX_PARTS else None
        parts.append(Part(candidate, candidate.free))
        missing -= candidate.free * candidate.size
    return None


def _groups(candidates: list[Candidate], key) -> dict:
    groups: dict = {}
    for candidate in candidates:
        groups.setdefault(key(candidate.listing), []).append(candidate)
    return groups


def _place(listing: Row) -> tuple:
    return listing.origin, listing.region, listing.city_code or listing.city, listing.datacenter


def _combinations(candidates: list[Candidate], demand: Demand, deadline: float) -> tuple[list[Offer], bool]:
    """The greedy combination over all candidates, and within each node (or, with one_datacenter, within
    each datacenter): a buyer may prefer one merchant, or one site. False when the time budget ran out."""
    offers, ordered = [], sorted(candidates, key=_greedy_order)  # once: each group keeps the order
    if not demand.one_datacenter:
        offer = _greedy(ordered, demand)
        offers += [offer] if offer else []
    groups = _groups(ordered, _place if demand.one_datacenter else (lambda listing: listing.origin))
    for n, members in enumerate(sorted(groups.values(), key=lambda m: -len(m))):
        if n >= ALWAYS_TRIED and time.perf_counter() > deadline:
            return offers, False
        offer = _greedy(members, demand)
        if offer and len(offer.parts) > 1:
            offers.append(offer)
    return offers, True


def _distinct(offers: list[Offer]) -> list[Offer]:
    seen, kept = set(), []
    for offer in offers:
        signature = tuple((p.listing.id, p.units) for p in offer.parts)
        if signature not in seen:
            seen.add(signature)
            kept.append(offer)
    return kept


def _within_ceiling(offer: Offer) -> bool:
    ceiling = offer.demand.max_price_per_gpu_hour
    return ceiling is None or all(
        part.candidate.unit_total / (part.candidate.size * offer.demand.hours) <= ceiling for part in offer.parts
    )


def match_demand(*, session: Session, demand: Demand) -> MatchResult:
    """Ranked offers for a demand: single listings that fill it, else combinations; what excluded listings
    when there is none."""
    singles = _candidates(_read(session, demand, whole=True, per_model=SINGLES_PER_MODEL), demand)
    offers = [offer for c in singles if (offer := _single(c, demand)) and _within_ceiling(offer)]
    considered, complete = len(singles), True
    if not offers:
        pool = _candidates(_read(session, demand, whole=False, per_model=MAX_CANDIDATES), demand)
        pool = [c for c in pool if _within_ceiling(Offer([Part(c, 1)], demand))]
        considered = len(pool)
        offers, complete = _combinations(pool, demand, time.perf_counter() + TIME_BUDGET_S)
    ranked = sorted(_distinct(offers), key=Offer.key)[: demand.limit]
    excluded = None if ranked else count_exclusions(session=session, demand=demand)
    return MatchResult(ranked, considered, excluded, exhausted=not complete)


def count_exclusions(*, session: Session, demand: Demand) -> dict[str, int]:
    """For each requirement the demand makes, how many of the SCAN_LIMIT published listings of the resource
    type cheapest per GPU-hour (or per unit) do not meet it: how narrow each requirement is, to show what to
    relax. One statement over one index range, so an empty answer keeps the same time bound as offers."""
    shape = Shape.of(demand, session.get_bind().dialect.name)
    sample = select(Listing.id).where(*_base(shape)).order_by(*_order(shape)).limit(SCAN_LIMIT)
    asked = {name: conditions for name, conditions in _requirements(shape).items() if conditions}
    # NULL (e.g. a listing without a city) does not meet a requirement either.
    unmet = [func.count().filter(not_(func.coalesce(and_(*conditions), False))) for conditions in asked.values()]
    row = session.execute(select(*unmet).where(Listing.id.in_(sample.scalar_subquery())),
                          _values(demand, need=1)).one()  # fmt: skip
    return dict(zip(asked, row, strict=True))
