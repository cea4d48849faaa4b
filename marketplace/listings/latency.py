"""Latency to a buyer (PROTOCOL.md §10): from the buyer's city to a listing's datacenter city.

estimate = great-circle distance × ROUTE_FACTOR ÷ FIBRE_KM_PER_MS + the listing's access `latency_ms`
(0 when absent), one way, in ms; a listing without `city_code` has no estimate.
"""

import math
from functools import lru_cache

import orjson

from ..errors import DomainError
from ..identity.cities import CITY_HINT, FORMER_CODES, City, cities, find_city

EARTH_RADIUS_KM = 6371.0
ROUTE_FACTOR = 1.5  # fibre routes are longer than the great circle
FIBRE_KM_PER_MS = 200.0  # light in fibre
# The classes the national notice names: within a metropolitan area, terminal to computing, beyond.
CLASSES = (("metro", 1.0), ("regional", 10.0))
FAR = "far"


class UnknownCity(DomainError):
    """A city code that is not a GB/T 2260 prefecture-level city."""

    reason = "unknown_city"

    def __init__(self, field: str, location: str = "json"):
        super().__init__(CITY_HINT, field=field, location=location)


def city_or_refuse(code: str, *, field: str, location: str = "json") -> City:
    """The city of a code, or a 422 naming the field."""
    city = find_city(code)
    if city is None:
        raise UnknownCity(field, location)
    return city


def distance_km(a: City, b: City) -> float:
    """Great-circle distance between two cities' seats (haversine, the Earth as a sphere)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def path_ms(a: City, b: City) -> float:
    """The fibre path's one-way time between two cities, in ms."""
    return distance_km(a, b) * ROUTE_FACTOR / FIBRE_KM_PER_MS


@lru_cache(maxsize=512)
def path_table(near_code: str) -> dict[str, float]:
    """The path time from `near_code` to every city, by city code."""
    near = find_city(near_code)
    table = {code: path_ms(near, city) for code, city in cities().items()}
    # Listings stored with a withdrawn code are as near as the city that code is part of now.
    return table | {former: table[current] for former, current in FORMER_CODES.items()}


@lru_cache(maxsize=2048)
def path_table_json(near_code: str, within_ms: float | None = None) -> str:
    """path_table as JSON text (bound into search's SQL), only cities within `within_ms` when given."""
    table = path_table(near_code)
    if within_ms is not None:
        table = {code: ms for code, ms in table.items() if ms <= within_ms}
    return orjson.dumps(table).decode()


def estimate_ms(near_code: str, city_code: str | None, latency_ms: float | None) -> float | None:
    """§10's estimate from the buyer's city to a listing, or None without the listing's city."""
    if not city_code:
        return None
    path = path_table(near_code).get(city_code)
    if path is None:
        return None
    return path + (latency_ms or 0.0)


def shown(estimate: float | None) -> float | None:
    """An estimate as answers carry it: to a hundredth of a millisecond."""
    return None if estimate is None else round(estimate, 2)


def latency_class(estimate: float | None) -> str | None:
    """The notice's class of an estimate: `metro` (≤ 1 ms), `regional` (≤ 10 ms), `far`; None without one."""
    if estimate is None:
        return None
    for name, bound in CLASSES:
        if estimate <= bound:
            return name
    return FAR


def sort_key(estimate: float | None) -> int | None:
    """The whole microseconds search sorts by (the same truncation as its SQL), None without an estimate."""
    return None if estimate is None else int(estimate * 1000)


def path_table_within(near_code: str, within_ms: float) -> tuple[str, ...]:
    """The codes of the cities whose path time from `near_code` is at most `within_ms`."""
    return tuple(code for code, ms in path_table(near_code).items() if ms <= within_ms)
