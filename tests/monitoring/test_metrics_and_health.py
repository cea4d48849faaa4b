"""/metrics for operators, the request id and its JSON log line, and /healthz's reasons."""

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from marketplace.requestlog import JsonLineFormatter

from ..factories import bearer, gpu_payload, make_listing, make_user

API = "/api/v1/listings"


def scrape(client, headers) -> dict[tuple, float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted((k, str(v)) for k, v in labels.items()))), 0.0)


@pytest.mark.parametrize("role", [None, "buyer", "seller"])
def test_metrics_are_for_operators_only(client, db_session, role):
    headers = bearer(db_session, make_user(db_session, role=role)) if role else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 403 and response.get_json()["reason"] == "not_an_operator"


def test_an_address_in_metrics_allow_may_scrape(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOW", "10.0.0.0/8, 127.0.0.1")
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    monkeypatch.setitem(app.config, "METRICS_ALLOW", "10.0.0.0/8")
    assert client.get("/metrics").status_code == 403


def test_metrics_count_requests_and_read_listings_and_units_from_the_database(client, db_session):
    operator = bearer(db_session, make_user(db_session, role="operator"))
    seller = bearer(db_session, make_user(db_session, role="seller"))
    before = scrape(client, operator)
    for _ in range(3):
        assert client.post(API, json=gpu_payload(quantity=4), headers=seller).status_code == 201
    assert client.get(API + "?per_page=1").status_code == 200
    after = scrape(client, operator)
    posted = dict(endpoint="listings_api.ListingCollection", method="POST", status=201)
    assert value(after, "cpn_http_requests_total", **posted) - value(before, "cpn_http_requests_total", **posted) == 3
    gpu = dict(resource_type="gpu")
    assert value(after, "cpn_units_listed", **gpu) - value(before, "cpn_units_listed", **gpu) == 12
    own = dict(origin="own", resource_type="gpu", status="published")
    assert value(after, "cpn_listings", **own) - value(before, "cpn_listings", **own) == 3
    assert value(after, "cpn_outbox_waiting") - value(before, "cpn_outbox_waiting") == 3


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(JsonLineFormatter().format(record)))


def test_every_answer_carries_a_request_id_and_one_json_log_line(client):
    handler, logger = _Lines(), logging.getLogger("marketplace.access")
    logger.addHandler(handler)
    try:
        mine = client.get(API, headers={"X-Request-Id": "R11-trace-0001"})
        theirs = client.get(API, headers={"X-Request-Id": "no spaces allowed here"})
    finally:
        logger.removeHandler(handler)
    assert mine.headers["X-Request-Id"] == "R11-trace-0001"
    assert re.fullmatch(r"[0-9a-f]{32}", theirs.headers["X-Request-Id"])  # an unusable id is replaced
    lines = handler.lines
    assert [line["request_id"] for line in lines] == ["R11-trace-0001", theirs.headers["X-Request-Id"]]
    assert lines[0]["status"] == 200 and lines[0]["path"] == API and lines[0]["method"] == "GET"


def test_healthz_says_why_a_node_cannot_do_its_job(app, client, tmp_path, monkeypatch):
    assert client.get("/healthz").get_json()["status"] == "ok"
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(tmp_path / "none.json"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert [problem["reason"] for problem in response.get_json()["problems"]] == ["keys_missing"]


def test_orders_are_counted_by_status_units_held_and_sold_and_refusals_by_reason(client, db_session):
    operator = bearer(db_session, make_user(db_session, role="operator"))
    seller = make_user(db_session, role="seller")
    listing = make_listing(db_session, seller, quantity=3, resource_type="gpu")
    buyer_user = make_user(db_session, role="buyer")
    buyer = bearer(db_session, buyer_user)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    window = {"listing_code": listing.code, "start": start.isoformat(), "end": (start + timedelta(hours=5)).isoformat()}
    before = scrape(client, operator)
    held = client.post("/api/v1/orders", json=window | {"units": 2}, headers=buyer)
    assert held.status_code == 201, held.get_json()
    short = client.post("/api/v1/orders", json=window | {"units": 2}, headers=buyer)
    assert short.status_code == 409 and short.get_json()["reason"] == "capacity_short"
    after = scrape(client, operator)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cpn_orders", status="held") == 1
    assert grew("cpn_units_held", resource_type="gpu") == 2
    assert grew("cpn_refusals_total", endpoint="orders_api.OrderCollection", reason="capacity_short") == 1
    code = held.get_json()["code"]
    client.post(
        f"/api/v1/orders/{code}/confirm", json={"reference": "HSBC-2030-001"}, headers=bearer(db_session, seller)
    )
    confirmed = scrape(client, operator)
    assert (
        value(confirmed, "cpn_units_sold", resource_type="gpu") - value(after, "cpn_units_sold", resource_type="gpu")
        == 2
    )
    audit = client.get("/api/v1/audit", query_string={"object": f"order:{code}"}, headers=operator).get_json()
    assert [(entry["action"], entry["actor"]) for entry in reversed(audit["entries"])] == [
        ("order.held", buyer_user.email),
        ("order.confirmed", seller.email),
    ]
