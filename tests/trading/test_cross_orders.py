"""Orders across nodes (PROTOCOL.md §8): a buyer at R11 orders an R44 listing; R44 holds it, R11 keeps a record."""

from datetime import timedelta

from sqlalchemy import select

from marketplace.federation.client import call_node
from marketplace.models import AuditEntry, Order, User
from marketplace.models.types import utcnow
from marketplace.trading.services import cancel_order

from .cross_helpers import auth, local_buyer, national_buyer, order_body, orders_at, publish, records_at


def test_an_order_of_another_nodes_listing_is_held_at_its_origin_and_recorded_at_the_buyers_node(federation):
    [code] = publish(federation, "R44", quantity=4)
    token = national_buyer(federation)
    r11 = federation["R11"].test_client()
    answer = r11.post("/api/v1/orders", json=order_body(code, units=3), headers=auth(token))
    assert answer.status_code == 201, answer.get_json()
    order = answer.get_json()
    assert order["origin"] == "R44" and order["code"].startswith("R44-") and order["status"] == "held"
    assert order["buyer"] == {"name": "Li Na", "org": "Hangzhou AI Lab", "node": "R11"}
    assert order["held_at"] == "R44" and order["total"] == 3 * 8 * 5 * 2050
    [held] = orders_at(federation, "R44")
    assert (held.code, held.units, held.status, held.buyer_node) == (order["code"], 3, "held", "R11")
    [record] = records_at(federation, "R11")
    assert (record.code, record.origin, record.status, record.total) == (order["code"], "R44", "held", order["total"])
    assert orders_at(federation, "R11") == []  # nothing is held at the buyer's node itself
    with federation["R11"].app_context(), federation["R11"].extensions["db"].session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.held_elsewhere")).one()
        assert (audit.actor, audit.object) == ("li.na@example.cn", f"order:{order['code']}")
    mine = r11.get("/api/v1/orders", query_string={"held": "elsewhere"}, headers=auth(token)).get_json()
    assert [item["code"] for item in mine["items"]] == [order["code"]]
    # The same person at the origin: the order belongs to the account of the same national subject there.
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        buyer = session.get(User, held.buyer_id)
        assert (buyer.national_subject, buyer.email) == ("cpn-7", "li.na@example.cn")


def test_the_origins_refusals_come_back_with_their_reason_and_nothing_is_held(federation):
    [code] = publish(federation, "R44", quantity=2)
    token = national_buyer(federation)
    r11 = federation["R11"].test_client()
    short = r11.post("/api/v1/orders", json=order_body(code, units=2), headers=auth(token))
    assert short.status_code == 201
    refused = r11.post("/api/v1/orders", json=order_body(code, units=1), headers=auth(token))
    body = refused.get_json()
    assert refused.status_code == 409 and body["reason"] == "capacity_short" and body["free"] == 0, body
    assert "units" in body["errors"]["json"]
    too_many = r11.post("/api/v1/orders", json=order_body(code, units=3), headers=auth(token))
    assert too_many.status_code == 422 and "units" in too_many.get_json()["errors"]["json"]
    price = r11.post("/api/v1/orders", json=order_body(code, units=1, expected_total=1), headers=auth(token))
    assert price.status_code == 409 and price.get_json()["reason"] == "price_changed"
    assert len(orders_at(federation, "R44")) == 1 and len(records_at(federation, "R11")) == 1


def test_only_people_with_the_national_identity_order_across_nodes(federation):
    [code] = publish(federation, "R44")
    token = local_buyer(federation)
    answer = federation["R11"].test_client().post("/api/v1/orders", json=order_body(code), headers=auth(token))
    body = answer.get_json()
    assert answer.status_code == 403 and body["reason"] == "national_identity_required"
    assert "Sign in with the national identity" in body["message"]
    assert orders_at(federation, "R44") == [] and records_at(federation, "R11") == []


def test_the_origin_unreachable_answers_origin_unreachable_and_nothing_is_held(federation):
    [code] = publish(federation, "R44")
    token = national_buyer(federation)
    federation.route_http(down={"R44"})
    answer = federation["R11"].test_client().post("/api/v1/orders", json=order_body(code), headers=auth(token))
    assert answer.status_code == 503 and answer.get_json()["reason"] == "origin_unreachable", answer.get_json()
    federation.route_http()
    assert orders_at(federation, "R44") == [] and records_at(federation, "R11") == []


def test_a_repeat_with_the_same_idempotency_key_answers_the_same_order(federation):
    [code] = publish(federation, "R44", quantity=4)
    token = national_buyer(federation)
    r11 = federation["R11"].test_client()
    headers = auth(token) | {"Idempotency-Key": "k" * 255}  # the longest key a client may send
    first = r11.post("/api/v1/orders", json=order_body(code, units=2), headers=headers)
    again = r11.post("/api/v1/orders", json=order_body(code, units=2), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["code"] == again.get_json()["code"]
    other = r11.post("/api/v1/orders", json=order_body(code, units=1), headers=headers)
    assert other.status_code == 422 and other.get_json()["reason"] == "idempotency_key_reused"
    assert len(orders_at(federation, "R44")) == 1 and len(records_at(federation, "R11")) == 1


def test_the_buyers_node_reads_the_order_again_and_cancels_it_at_the_origin(federation):
    [code] = publish(federation, "R44", quantity=4)
    token = national_buyer(federation)
    r11 = federation["R11"].test_client()
    placed = r11.post("/api/v1/orders", json=order_body(code, units=1), headers=auth(token)).get_json()
    # The seller confirms the bank transfer at R44: R11 sees it on the next read.
    [held] = orders_at(federation, "R44")
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        order = session.get(Order, held.id)
        cancel_order(session=session, order=order, actor=session.get(User, order.seller_id), reason="sold out",
                     now=utcnow())  # fmt: skip
        session.commit()
    seen = r11.get(f"/api/v1/orders/{placed['code']}", headers=auth(token)).get_json()
    assert seen["status"] == "cancelled" and records_at(federation, "R11")[0].status == "cancelled"
    second = r11.post("/api/v1/orders", json=order_body(code, units=1), headers=auth(token)).get_json()
    cancelled = r11.post(f"/api/v1/orders/{second['code']}/cancel", json={"reason": "changed plans"},
                         headers=auth(token))  # fmt: skip
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert {o.status for o in orders_at(federation, "R44")} == {"cancelled"}
    again = r11.post(f"/api/v1/orders/{second['code']}/cancel", json={}, headers=auth(token))
    assert again.status_code == 409 and again.get_json()["reason"] == "invalid_transition"


def test_another_buyer_sees_no_record_and_the_origin_answers_only_the_node_that_placed_it(federation):
    [code] = publish(federation, "R44")
    token = national_buyer(federation)
    placed = federation["R11"].test_client().post("/api/v1/orders", json=order_body(code),
                                                  headers=auth(token)).get_json()  # fmt: skip
    other = national_buyer(federation, subject="cpn-8", email="zhao@example.cn")
    assert federation["R11"].test_client().get(f"/api/v1/orders/{placed['code']}",
                                               headers=auth(other)).status_code == 404  # fmt: skip
    with federation["IJ01"].test_request_context():
        url = f"{federation.url('R44')}/federation/v1/orders/{placed['code']}"
        assert call_node("GET", url, audience="R44", scope="orders:write").status_code == 404
        cancel = call_node("POST", url + "/cancel", audience="R44", scope="orders:write", json={"reason": "x"})
        assert cancel.status_code == 404
    with federation["R11"].test_request_context():
        url = f"{federation.url('R44')}/federation/v1/orders/{placed['code']}"
        assert call_node("GET", url, audience="R44", scope="orders:write").json()["status"] == "held"
        assert call_node("GET", url, audience="R44", scope="listings:read").status_code == 403  # the wrong scope


def test_a_suspended_node_places_no_orders(federation):
    [code] = publish(federation, "R44")
    token = national_buyer(federation)
    federation.set_status("R11", "suspended")
    answer = federation["R11"].test_client().post("/api/v1/orders", json=order_body(code), headers=auth(token))
    assert answer.status_code == 503 and answer.get_json()["reason"] == "origin_unreachable"
    assert orders_at(federation, "R44") == []


def test_the_origins_federation_endpoint_refuses_bad_input_naming_the_field(federation):
    [code] = publish(federation, "R44")
    start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    end = start + timedelta(hours=1)
    body = {"listing_code": code, "units": 1, "start": start.isoformat(), "end": end.isoformat(),
            "idempotency_key": "k1", "buyer": {"name": "No Subject"}}  # fmt: skip
    with federation["R11"].test_request_context():
        url = f"{federation.url('R44')}/federation/v1/orders"
        answer = call_node("POST", url, audience="R44", scope="orders:write", json=body)
        assert answer.status_code == 422 and "sub" in answer.json()["errors"]["json"]["buyer"]
        unauthenticated = federation["R44"].test_client().post("/federation/v1/orders", json=body)
        assert unauthenticated.status_code == 401
    assert orders_at(federation, "R44") == []


def test_the_request_id_goes_along_to_the_origin(federation):
    """The origin's audit log names the request of the buyer's node that placed the order, for every group part."""
    [code] = publish(federation, "R44", quantity=4)
    [other] = publish(federation, "IJ01", quantity=4)
    token = national_buyer(federation)
    client = federation["R11"].test_client()
    headers = auth(token) | {"X-Request-Id": "req-single-1"}
    single = client.post("/api/v1/orders", json=order_body(code), headers=headers)
    assert single.headers["X-Request-Id"] == "req-single-1"
    group = client.post("/api/v1/order-groups", json={"parts": [order_body(code, units=2), order_body(other)]},
                        headers=auth(token) | {"X-Request-Id": "req-group-1"})  # fmt: skip
    assert group.status_code == 201
    for node, expected in (("R44", ["req-single-1", "req-group-1"]), ("IJ01", ["req-group-1"])):
        app = federation[node]
        with app.app_context(), app.extensions["db"].session() as session:
            held = session.scalars(select(AuditEntry.request_id).where(AuditEntry.action == "order.held")
                                   .order_by(AuditEntry.id)).all()  # fmt: skip
        assert held == expected, node


def test_a_buyer_at_national_orders_a_regional_listing_held_at_its_origin(federation):
    # National looks the origin up in its own registry: that read must not hold national's database while R44,
    # to check national's token, asks national to introspect it (on SQLite a POST's transaction is a write one).
    [code] = publish(federation, "R44", quantity=4)
    token = national_buyer(federation, node="N0", subject=None, email="zhao@example.cn")
    answer = federation["N0"].test_client().post("/api/v1/orders", json=order_body(code, units=2), headers=auth(token))
    assert answer.status_code == 201, answer.get_json()
    [held] = orders_at(federation, "R44")
    assert (held.code, held.units, held.status, held.buyer_node) == (answer.get_json()["code"], 2, "held", "N0")
    [record] = records_at(federation, "N0")
    assert record.code == held.code
