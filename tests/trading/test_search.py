"""Search by window: `start`, `end` and `units` filter on each listing's published capacity."""

from datetime import datetime

import pytest

from marketplace.templating import CST

from ..factories import bearer, gpu_payload, make_listing
from .test_api import ORDERS, body, hour

API = "/api/v1/listings"


def found(client, **params) -> list[str]:
    response = client.get(API, query_string=params)
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()["items"]]


@pytest.fixture
def busy(client, db_session, seller, buyer):
    """A 4-unit listing with 3 units ordered for hours 2–5, and an idle one."""
    listing = make_listing(db_session, seller, quantity=4, title="Busy")
    idle = make_listing(db_session, seller, quantity=4, title="Idle")
    response = client.post(ORDERS, json=body(listing, units=3, start=2, end=5), headers=bearer(db_session, buyer))
    assert response.status_code == 201
    return listing.code, idle.code


def test_listings_without_enough_free_units_in_the_window_are_left_out(client, busy):
    listing, idle = busy
    assert sorted(found(client, start=hour(3), end=hour(4), units=2)) == [idle]
    assert sorted(found(client, start=hour(3), end=hour(4), units=1)) == sorted([listing, idle])
    assert sorted(found(client, start=hour(0), end=hour(2), units=4)) == sorted([listing, idle])
    assert sorted(found(client, start=hour(4), end=hour(9), units=2)) == [idle]  # overlaps the busy hours
    assert found(client, start=hour(0), end=hour(1), units=5) == []  # more than either has
    assert found(client, start=hour(0), end=hour(24 * 400)) == []  # beyond their windows


def test_the_window_parameters_are_checked(client):
    assert client.get(API, query_string={"start": hour(0)}).status_code == 422
    assert client.get(API, query_string={"start": hour(2), "end": hour(1)}).status_code == 422
    assert client.get(API, query_string={"units": 2}).status_code == 422


def test_the_search_page_takes_the_window_in_china_standard_time(client, busy):
    listing, idle = busy

    def cst(value: str) -> str:
        return datetime.fromisoformat(value).astimezone(CST).strftime("%Y-%m-%dT%H:%M")

    page = client.get("/listings", query_string={"start": cst(hour(3)), "end": cst(hour(4)), "units": 2})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and idle in text and listing not in text


def test_sellers_cannot_write_capacity(client, db_session, seller):
    payload = gpu_payload(capacity=[{"from": hour(0), "until": hour(1), "free": 0}])
    response = client.post(API, json=payload, headers=bearer(db_session, seller))
    assert response.status_code == 422 and "capacity" in response.get_json()["errors"]["json"]
