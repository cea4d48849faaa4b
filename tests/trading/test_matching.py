"""`POST /api/v1/matches`: singles that fill a demand, combinations when none does, what excluded the rest."""

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from types import SimpleNamespace

import pytest

from marketplace.listings.latency import estimate_ms
from marketplace.trading import matching
from marketplace.trading.matching import Candidate, Demand, greedy_combination

from ..factories import bearer, make_listing
from .test_api import ORDERS, body, hour

MATCHES = "/api/v1/matches"


def demand(**overrides) -> dict:
    """Twelve H100 GPUs for ten hours, from the next hour on."""
    return {"gpu_models": ["H100"], "gpus": 12, "start": hour(0), "end": hour(10)} | overrides


def match(client, **overrides):
    response = client.post(MATCHES, json=demand(**overrides))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def codes(offer) -> list[tuple[str, int]]:
    return [(part["listing_code"], part["units"]) for part in offer["parts"]]


def test_single_listings_that_fill_the_demand_ranked_by_price_per_gpu_hour_asked(client, db_session, seller):
    cheap = make_listing(db_session, seller, unit_price=1800, gpu_count=8, quantity=1)  # 8 GPUs: too few
    fits = make_listing(db_session, seller, unit_price=2000, gpu_count=8, quantity=2)  # 16 GPUs: over-fills
    exact = make_listing(db_session, seller, unit_price=2600, gpu_count=4, quantity=3)  # exactly 12
    make_listing(db_session, seller, unit_price=1000, gpu_model="A800", quantity=10)  # another model
    answer = match(client)
    assert [codes(o) for o in answer["offers"]] == [[(exact.code, 3)], [(fits.code, 2)]]
    first, second = answer["offers"]
    assert first == {"parts": [{"listing_code": exact.code, "origin": "R44", "units": 3, "total": 2600 * 12 * 10}],
                     "total": 312_000, "currency": "cny", "gpus": 12, "price_per_gpu_hour": 2600,
                     "estimated_latency_ms": None}  # fmt: skip
    # 16 GPUs at ¥20.00 for 10 h = ¥3,200.00, paid for the 12 GPUs asked: ¥26.67 (rounded up) per GPU-hour.
    assert (second["gpus"], second["total"], second["price_per_gpu_hour"]) == (16, 320_000, math.ceil(320_000 / 120))
    assert cheap.code not in str(answer)


def test_combinations_when_no_single_listing_fills_the_demand(client, db_session, seller, other_seller):
    a = make_listing(db_session, seller, unit_price=1500, gpu_count=8, quantity=2)  # 16 GPUs, cheapest
    b = make_listing(db_session, other_seller, unit_price=1700, gpu_count=8, quantity=2)
    c = make_listing(db_session, seller, unit_price=1900, gpu_count=4, quantity=5)
    answer = match(client, gpus=36)
    best = answer["offers"][0]
    # Greedy: all of a (16), all of b (16), then the cheapest cover of the last 4 GPUs: 1 unit of c.
    assert codes(best) == [(a.code, 2), (b.code, 2), (c.code, 1)]
    assert best["gpus"] == 36 and best["total"] == sum(p["total"] for p in best["parts"])
    assert best["total"] == (1500 * 16 + 1700 * 16 + 1900 * 4) * 10
    assert all(len(o["parts"]) > 1 for o in answer["offers"])


def test_capacity_taken_by_orders_counts_per_window(client, db_session, seller, buyer):
    listing = make_listing(db_session, seller, unit_price=2000, gpu_count=8, quantity=2)
    taken = client.post(ORDERS, json=body(listing, units=1, start=2, end=5), headers=bearer(db_session, buyer))
    assert taken.status_code == 201
    assert match(client, start=hour(0), end=hour(4))["offers"] == []  # only 8 GPUs free in hours 2–4
    assert codes(match(client, start=hour(5), end=hour(9))["offers"][0]) == [(listing.code, 2)]
    assert codes(match(client, gpus=8, start=hour(0), end=hour(4))["offers"][0]) == [(listing.code, 1)]


def test_nothing_found_says_how_many_listings_each_requirement_excluded(client, db_session, seller):
    make_listing(db_session, seller, unit_price=3000, gpu_count=8, quantity=2)  # too dear
    make_listing(db_session, seller, unit_price=1000, gpu_count=8, quantity=2, region="44")  # elsewhere
    make_listing(db_session, seller, unit_price=1000, gpu_model="A800", quantity=2)  # another model
    answer = match(client, max_price_per_gpu_hour=2500, regions=["52"])
    assert answer["offers"] == []
    assert answer["excluded"] == {"currency": 0, "gpu_model": 1, "region": 1, "price": 1, "window": 0,
                                  "capacity": 0}  # fmt: skip


def test_exclusions_are_counted_among_the_cheapest_listings_the_time_bound_examines(client, db_session, seller,
                                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setattr(matching, "SCAN_LIMIT", 2)  # as if the catalogue were larger than the bound
    make_listing(db_session, seller, unit_price=1000, gpu_count=8, quantity=2, region="44")  # cheapest
    make_listing(db_session, seller, unit_price=1500, gpu_model="A800", quantity=2, region="44")
    make_listing(db_session, seller, unit_price=2000, gpu_model="A800", quantity=2)  # beyond the bound
    answer = match(client, regions=["52"], max_price_per_gpu_hour=100)
    assert answer["offers"] == []
    assert answer["excluded"] == {"currency": 0, "gpu_model": 1, "region": 2, "price": 2, "window": 0,
                                  "capacity": 0}  # fmt: skip


def test_price_ceiling_and_regions_choose_among_the_fitting(client, db_session, seller):
    dear = make_listing(db_session, seller, unit_price=3000, gpu_count=8, quantity=2)
    south = make_listing(db_session, seller, unit_price=2000, gpu_count=8, quantity=2, region="44")
    west = make_listing(db_session, seller, unit_price=2400, gpu_count=8, quantity=2)
    assert [codes(o) for o in match(client, max_price_per_gpu_hour=2500)["offers"]] == [
        [(south.code, 2)], [(west.code, 2)]]  # fmt: skip
    assert [codes(o) for o in match(client, regions=["52"])["offers"]] == [[(west.code, 2)], [(dear.code, 2)]]


def test_near_city_estimates_latency_and_max_latency_leaves_far_and_cityless_out(client, db_session, seller):
    guiyang = make_listing(db_session, seller, city_code="520100", latency_ms=1.5, quantity=2)
    make_listing(db_session, seller, quantity=2)  # no city: no estimate
    beijing = make_listing(db_session, seller, region="11", city_code="110100", latency_ms=0.5, quantity=2,
                           unit_price=2500)  # fmt: skip
    near = match(client, near_city="110100")
    latencies = {o["parts"][0]["listing_code"]: o["estimated_latency_ms"] for o in near["offers"]}
    assert latencies[beijing.code] == 0.5
    assert latencies[guiyang.code] == round(estimate_ms("110100", "520100", 1.5), 2)
    assert abs((latencies[guiyang.code] - 1.5) * 200 / 1.5 - 1730) < 15  # Beijing–Guiyang: about 1,730 km
    assert None in latencies.values()
    bounded = match(client, near_city="110100", max_latency_ms=10)
    assert [codes(o) for o in bounded["offers"]] == [[(beijing.code, 2)]]


def test_one_datacenter_combines_only_listings_of_one_site(client, db_session, seller):
    a = make_listing(db_session, seller, unit_price=1500, gpu_count=8, quantity=1, datacenter="DC-1")
    b = make_listing(db_session, seller, unit_price=1600, gpu_count=8, quantity=1, datacenter="DC-2")
    c = make_listing(db_session, seller, unit_price=1900, gpu_count=8, quantity=1, datacenter="DC-1")
    assert codes(match(client, gpus=16)["offers"][0]) == [(a.code, 1), (b.code, 1)]
    assert [codes(o) for o in match(client, gpus=16, one_datacenter=True)["offers"]] == [[(a.code, 1), (c.code, 1)]]


@pytest.mark.parametrize(("change", "field"), [
    ({"near_city": "999999"}, "near_city"),
    ({"max_latency_ms": 5}, "near_city"),
    ({"units": 2}, "units"),
    ({"gpus": None}, "gpus"),
    ({"start": "2030-01-01T10:30:00+00:00"}, "start"),
    ({"end": hour(0)}, "end"),
    ({"regions": ["99"]}, "regions"),
    ({"resource_type": "cpu", "gpus": None, "units": 1}, "gpu_models"),
    ({"limit": 51}, "limit"),
    ({"colour": "red"}, "colour"),
])  # fmt: skip
def test_bad_demands_are_422_naming_the_field(client, change, field):
    body_ = {k: v for k, v in (demand() | change).items() if v is not None}
    response = client.post(MATCHES, json=body_)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]


def _candidate(i, size, free, unit_price):
    listing = SimpleNamespace(id=i, code=f"L{i}")
    return Candidate(listing, free, size, Fraction(unit_price * size), None)


def test_the_greedy_combination_is_within_one_unit_of_a_pool_listing_from_the_best():
    """Against every combination of small random catalogues: the documented bound holds."""
    rng = random.Random(7)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for _ in range(200):
        pool = [_candidate(i, rng.choice((1, 2, 4, 8)), rng.randint(1, 3), rng.randint(10, 40)) for i in range(5)]
        asked = rng.randint(1, sum(c.free * c.size for c in pool))
        wanted = Demand("gpu", asked, start, start + timedelta(hours=1), "cny")
        offer = greedy_combination(pool, wanted)
        best = min(
            sum(c.unit_total * u for c, u in zip(pool, units, strict=True))
            for units in itertools.product(*[range(c.free + 1) for c in pool])
            if sum(c.size * u for c, u in zip(pool, units, strict=True)) >= asked
        )
        assert offer is not None and offer.provides >= asked
        assert best <= offer.total <= best + max(c.unit_total for c in pool)
