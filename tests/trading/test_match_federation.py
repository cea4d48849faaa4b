"""Matching at any node reads that node's copy of the national catalogue, city codes and capacity included."""

from datetime import UTC, datetime, timedelta

from ..sync.test_push import publish, pull, push


def _window(hours: int = 10) -> dict:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def test_a_buyer_at_r11_is_offered_listings_of_r44_and_ij01_combined_with_latency(federation):
    [south] = publish(federation, "R44", quantity=1, gpu_count=8, unit_price=1500, region="44", city_code="440300",
                      latency_ms=0.5)  # fmt: skip
    [finance] = publish(federation, "IJ01", quantity=1, gpu_count=8, unit_price=1600, region="11",
                        city_code="110100", latency_ms=0.2)  # fmt: skip
    push(federation, "IJ01")
    push(federation, "R11")  # relays IJ01's events up
    push(federation, "R44")
    pull(federation, "R11")
    client = federation["R11"].test_client()
    copy = client.get(f"/api/v1/listings/{south}").get_json()
    assert copy["city_code"] == "440300" and copy["origin"] == "R44"

    body = {"gpu_models": ["H100"], "gpus": 16, "near_city": "110100"} | _window()
    answer = client.post("/api/v1/matches", json=body).get_json()
    [offer] = answer["offers"]
    assert [(p["listing_code"], p["origin"], p["units"]) for p in offer["parts"]] == [
        (south, "R44", 1), (finance, "IJ01", 1)]  # fmt: skip
    assert offer["total"] == (1500 + 1600) * 8 * 10 and offer["gpus"] == 16
    assert offer["estimated_latency_ms"] > 10  # Shenzhen is about 1,950 km from Beijing: the slowest part counts

    near = client.post("/api/v1/matches", json=body | {"gpus": 8, "max_latency_ms": 1}).get_json()
    assert [[p["listing_code"] for p in o["parts"]] for o in near["offers"]] == [[finance]]
    nothing = client.post("/api/v1/matches", json=body | {"max_latency_ms": 1}).get_json()
    assert nothing["offers"] == [] and nothing["excluded"]["latency"] == 1


def test_national_matches_over_the_whole_catalogue(federation):
    publish(federation, "R44", count=2, quantity=2, gpu_count=8)
    push(federation, "R44")
    national = federation["N0"].test_client()
    answer = national.post("/api/v1/matches", json={"gpus": 32} | _window()).get_json()
    assert len(answer["offers"]) == 1 and answer["offers"][0]["gpus"] == 32 and answer["considered"] == 2
