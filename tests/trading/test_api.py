"""`/api/v1`: availability, quotes, orders; each refusal with its reason; who sees what."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from marketplace.models import IdempotencyKey, Order

from ..factories import bearer, make_listing, make_user

ORDERS = "/api/v1/orders"


def hour(offset: int) -> str:
    """A whole UTC hour `offset` hours after the next one, as RFC 3339."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (base + timedelta(hours=offset)).isoformat()


@pytest.fixture
def listing(db_session, seller):
    return make_listing(db_session, seller, quantity=4)


@pytest.fixture
def buyer_auth(db_session, buyer):
    return bearer(db_session, buyer)


def body(listing, units=1, start=0, end=10, **extra) -> dict:
    return {"listing_code": listing.code, "units": units, "start": hour(start), "end": hour(end)} | extra


def order_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Order))


def test_quote_prices_and_tells_the_free_units_without_an_account(client, db_session, listing):
    response = client.post(f"/api/v1/listings/{listing.code}/quote",
                           json={"units": 2, "start": hour(0), "end": hour(10)})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    quote = response.get_json()
    assert quote["total"] == 2 * 8 * 10 * 2050 and quote["currency"] == "cny"
    assert quote["free"] == 4 and quote["available"] is True and quote["listing_version"] == listing.version
    assert sum(line["subtotal"] for line in quote["lines"]) == quote["total"]
    assert order_count(db_session) == 0


def test_an_order_is_held_and_readable_by_buyer_seller_and_operator_only(client, db_session, listing, buyer_auth,
                                                                           seller, other_seller):  # fmt: skip
    response = client.post(ORDERS, json=body(listing, units=2), headers=buyer_auth)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "held" and order["units"] == 2 and order["listing_code"] == listing.code
    assert order["payment"]["provider"] == "invoice" and order["payment"]["status"] == "awaiting"
    assert order["buyer"] == {"name": "Li Na", "org": "", "node": "R44"} and order["hold_expires_at"]
    code = order["code"]
    operator = make_user(db_session, role="operator")
    for headers in (buyer_auth, bearer(db_session, seller), bearer(db_session, operator)):
        assert client.get(f"{ORDERS}/{code}", headers=headers).get_json()["code"] == code
    assert client.get(f"{ORDERS}/{code}", headers=bearer(db_session, other_seller)).status_code == 404
    assert client.get(f"{ORDERS}/{code}").status_code == 401
    availability = client.get(f"/api/v1/listings/{listing.code}/availability").get_json()["capacity"]
    assert 2 in [interval["free"] for interval in availability]


def test_capacity_short_carries_the_reason_and_free_units(client, db_session, listing, buyer_auth):
    assert client.post(ORDERS, json=body(listing, units=3), headers=buyer_auth).status_code == 201
    response = client.post(ORDERS, json=body(listing, units=2, start=5, end=6), headers=buyer_auth)
    error = response.get_json()
    assert response.status_code == 409 and error["reason"] == "capacity_short" and error["free"] == 1
    assert error["errors"]["json"]["units"][0].startswith("Only 1 unit is free from")
    assert order_count(db_session) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": 0}, "units"),
        ({"units": 5}, "units"),
        ({"start": hour(3), "end": hour(2)}, "end"),
        ({"start": hour(0).replace(":00:00", ":30:00")}, "start"),
        ({"start": hour(-30)}, "start"),
        ({"start": hour(0).replace("+00:00", "")}, "start"),
        ({"end": hour(24 * 200)}, "end"),
        ({"payment_provider": "stripe"}, "payment_provider"),
        ({"expected_total": -1}, "expected_total"),
    ],
)
def test_bad_orders_are_422_naming_the_field_and_store_nothing(client, db_session, listing, buyer_auth, change,
                                                                 field):  # fmt: skip
    response = client.post(ORDERS, json=body(listing) | change, headers=buyer_auth)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["json"]
    assert order_count(db_session) == 0


def test_unknown_listing_is_404_and_paused_is_not_for_sale(client, db_session, listing, seller, buyer_auth):
    response = client.post(ORDERS, json=body(listing) | {"listing_code": "R44-00000ZZZ-0"}, headers=buyer_auth)
    assert response.status_code == 404
    client.patch(f"/api/v1/listings/{listing.code}", json={"status": "paused"}, headers=bearer(db_session, seller))
    response = client.post(ORDERS, json=body(listing), headers=buyer_auth)
    assert response.status_code == 409 and response.get_json()["reason"] == "not_for_sale"


def test_only_buyers_place_orders(client, db_session, listing, seller):
    assert client.post(ORDERS, json=body(listing), headers=bearer(db_session, seller)).status_code == 403
    assert client.post(ORDERS, json=body(listing)).status_code == 401


def test_expected_total_guards_the_price(client, db_session, listing, buyer_auth):
    response = client.post(ORDERS, json=body(listing, expected_total=1), headers=buyer_auth)
    assert response.status_code == 409 and response.get_json()["reason"] == "price_changed"
    right = body(listing, expected_total=8 * 10 * 2050)
    assert client.post(ORDERS, json=right, headers=buyer_auth).status_code == 201


def test_idempotency_key_answers_the_same_order_for_an_equal_body(client, db_session, listing, buyer_auth):
    headers = buyer_auth | {"Idempotency-Key": "retry-1"}
    first = client.post(ORDERS, json=body(listing), headers=headers)
    assert first.status_code == 201
    # the same instants written in China Standard Time are an equal body
    in_cst = datetime.fromisoformat(hour(0)).astimezone(timezone(timedelta(hours=8)))
    cst = body(listing) | {"start": in_cst.isoformat()}
    again = client.post(ORDERS, json=cst, headers=headers)
    assert again.status_code == 200 and again.get_json()["code"] == first.get_json()["code"]
    other = client.post(ORDERS, json=body(listing, units=2), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]["headers"]
    assert order_count(db_session) == 1
    assert db_session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_cancel_and_confirm_through_the_api(client, db_session, listing, buyer_auth, seller):
    seller_auth = bearer(db_session, seller)
    first = client.post(ORDERS, json=body(listing, units=4), headers=buyer_auth).get_json()["code"]
    assert client.post(f"{ORDERS}/{first}/confirm", json={"reference": "x"}, headers=buyer_auth).status_code == 403
    confirmed = client.post(f"{ORDERS}/{first}/confirm", json={"reference": "BOC-1"}, headers=seller_auth)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    refused = client.post(f"{ORDERS}/{first}/cancel", json={"reason": "oops"}, headers=buyer_auth)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "invalid_transition"
    refunded = client.post(f"{ORDERS}/{first}/cancel", json={"reason": "machine failed"}, headers=seller_auth)
    assert refunded.get_json()["status"] == "refunded"
    assert client.post(ORDERS, json=body(listing, units=4), headers=buyer_auth).status_code == 201


def test_lowering_quantity_below_orders_is_refused_naming_the_window(client, db_session, listing, buyer_auth,
                                                                       seller):  # fmt: skip
    client.post(ORDERS, json=body(listing, units=3, start=2, end=5), headers=buyer_auth)
    response = client.patch(
        f"/api/v1/listings/{listing.code}", json={"quantity": 2}, headers=bearer(db_session, seller)
    )
    error = response.get_json()
    assert response.status_code == 409 and error["reason"] == "capacity_committed"
    assert error["from"] == hour(2) and error["until"] == hour(5) and "quantity" in error["errors"]["json"]
    assert client.get(f"/api/v1/listings/{listing.code}").get_json()["quantity"] == 4


def test_listing_orders_and_sales_with_a_cursor(client, db_session, listing, buyer_auth, seller):
    codes = [client.post(ORDERS, json=body(listing, start=i, end=i + 1), headers=buyer_auth).get_json()["code"]
             for i in range(3)]  # fmt: skip
    page = client.get(ORDERS, query_string={"per_page": 2}, headers=buyer_auth).get_json()
    assert [o["code"] for o in page["items"]] == codes[::-1][:2] and page["next_cursor"]
    rest = client.get(ORDERS, query_string={"per_page": 2, "cursor": page["next_cursor"]}, headers=buyer_auth)
    assert [o["code"] for o in rest.get_json()["items"]] == [codes[0]] and rest.get_json()["next_cursor"] is None
    sales = client.get(ORDERS, query_string={"as": "seller", "status": "held"}, headers=bearer(db_session, seller))
    assert len(sales.get_json()["items"]) == 3
    assert client.get(ORDERS, query_string={"as": "seller"}, headers=buyer_auth).get_json()["items"] == []
    assert client.get(ORDERS, query_string={"cursor": "x"}, headers=buyer_auth).status_code == 422


def test_remote_listings_are_not_sold_here(client, db_session, seller, buyer_auth):
    """Another node's listing is ordered at its origin (tests/trading/test_cross_orders.py), never held here:
    a buyer without the national identity is told so."""
    remote = make_listing(db_session, seller, node_code="R11")
    remote.origin = "R11"
    db_session.flush()
    response = client.post(ORDERS, json=body(remote), headers=buyer_auth)
    assert response.status_code == 403 and response.get_json()["reason"] == "national_identity_required"
    assert db_session.scalars(select(Order)).all() == []


def test_a_draft_has_no_availability_and_takes_no_orders(client, db_session, seller, buyer_auth):
    draft = make_listing(db_session, seller, status="draft")
    headers = bearer(db_session, seller)
    answer = client.get(f"/api/v1/listings/{draft.code}/availability", headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"capacity": []}
    assert client.get(f"/api/v1/listings/{draft.code}/availability").status_code == 404
    assert client.post(ORDERS, json=body(draft), headers=buyer_auth).status_code == 404
