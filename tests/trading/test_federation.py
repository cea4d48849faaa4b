"""Capacity is public: an order at the origin changes the listing's copy at national and at other nodes."""

from datetime import UTC, datetime, timedelta

from marketplace.accounts.services import create_user
from marketplace.listings.services import find_listing
from marketplace.trading.services import place_order

from ..sync.test_push import publish, pull, push


def test_an_order_reaches_every_node_as_the_listings_capacity_and_search_follows_it(federation):
    [code] = publish(federation, "R44", quantity=4)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    end = start + timedelta(hours=5)
    origin = federation["R44"]
    with origin.app_context(), origin.extensions["db"].session() as session:
        buyer = create_user(session=session, email="b@r44.cn", password="x" * 12, role="buyer", name="Buyer")
        listing = find_listing(session=session, code=code)
        place_order(session=session, listing=listing, buyer=buyer, units=3, start=start, end=end,
                    now=datetime.now(UTC), node_code="R44")  # fmt: skip
        session.commit()
    push(federation, "R44")
    pull(federation, "R11")
    window = {"start": start.isoformat(), "end": end.isoformat()}
    for node in ("N0", "R11"):
        client = federation[node].test_client()
        copy = client.get(f"/api/v1/listings/{code}").get_json()
        assert copy["version"] == 2 and min(i["free"] for i in copy["capacity"]) == 1, node
        assert client.get("/api/v1/listings", query_string=window | {"units": 2}).get_json()["total"] == 0, node
        assert client.get("/api/v1/listings", query_string=window | {"units": 1}).get_json()["total"] == 1, node
        availability = client.get(f"/api/v1/listings/{code}/availability").get_json()["capacity"]
        assert 1 in [interval["free"] for interval in availability], node
    page = federation["R11"].test_client().get(f"/listings/{code}").get_data(as_text=True)
    assert "<svg" in page and "<td>1</td>" in page  # the chart at another node shows the units taken
