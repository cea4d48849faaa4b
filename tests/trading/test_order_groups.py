"""Order groups (PROTOCOL.md §8): every part held, at several origins side by side, or none."""

from sqlalchemy import select

from marketplace.models import OrderGroupPart

from .cross_helpers import auth, local_buyer, national_buyer, order_body, orders_at, publish, records_at


def parts(*codes_units) -> dict:
    return {"parts": [order_body(code, units=units) for code, units in codes_units]}


def live(federation, node: str) -> list:
    return [order for order in orders_at(federation, node) if order.status == "held"]


def test_a_group_holds_parts_at_this_node_and_at_two_other_origins(federation):
    [here] = publish(federation, "R11", quantity=2)
    [at44] = publish(federation, "R44", quantity=2)
    [at_industry] = publish(federation, "IJ01", quantity=2)
    token = national_buyer(federation)
    answer = federation["R11"].test_client().post("/api/v1/order-groups", json=parts((here, 1), (at44, 2),
                                                                                   (at_industry, 1)),
                                                  headers=auth(token))  # fmt: skip
    group = answer.get_json()
    assert answer.status_code == 201, group
    assert group["status"] == "held" and [p["outcome"] for p in group["parts"]] == ["held"] * 3
    assert [p["origin"] for p in group["parts"]] == ["R11", "R44", "IJ01"]
    assert group["total"] == sum(p["order"]["total"] for p in group["parts"]) and group["currency"] == "cny"
    assert [o.units for o in live(federation, "R44")] == [2] and [o.units for o in live(federation, "IJ01")] == [1]
    assert [o.units for o in live(federation, "R11")] == [1]
    assert len(records_at(federation, "R11")) == 2
    again = federation["R11"].test_client().get(f"/api/v1/order-groups/{group['id']}", headers=auth(token))
    assert again.status_code == 200 and again.get_json()["parts"] == group["parts"]


def test_a_group_whose_second_part_fails_leaves_nothing_held_and_names_the_part(federation):
    [first] = publish(federation, "R44", quantity=3)
    [second] = publish(federation, "IJ01", quantity=1)
    token = national_buyer(federation)
    answer = federation["R11"].test_client().post("/api/v1/order-groups", json=parts((first, 2), (second, 1),),
                                                  headers=auth(token))  # fmt: skip
    assert answer.status_code == 201
    # Now IJ01 has nothing free: a second group fails on its second part, and its first part is released.
    client = federation["R11"].test_client()
    refused = client.post("/api/v1/order-groups", json=parts((first, 1), (second, 1)), headers=auth(token))
    body = refused.get_json()
    assert refused.status_code == 409 and body["reason"] == "capacity_short", body
    assert body["failed_part"]["part"] == 1 and body["failed_part"]["listing_code"] == second
    assert body["errors"]["json"]["parts"]["1"]["units"], body
    assert body["group"]["status"] == "failed"
    assert [p["outcome"] for p in body["group"]["parts"]] == ["cancelled", "failed"]
    assert [o.status for o in orders_at(federation, "R44")] == ["held", "cancelled"]
    assert [o.status for o in orders_at(federation, "IJ01")] == ["held"]  # the first group's, nothing more
    assert [r.status for r in records_at(federation, "R11")] == ["held", "held", "cancelled"]


def test_a_failing_part_cancels_the_parts_already_held_everywhere(federation):
    [here] = publish(federation, "R11", quantity=1)
    [at44] = publish(federation, "R44", quantity=1)
    [full] = publish(federation, "IJ01", quantity=1)
    token = national_buyer(federation)
    client = federation["R11"].test_client()
    assert client.post("/api/v1/orders", json=order_body(full), headers=auth(token)).status_code == 201
    refused = client.post("/api/v1/order-groups", json=parts((here, 1), (at44, 1), (full, 1)), headers=auth(token))
    body = refused.get_json()
    assert refused.status_code == 409 and body["failed_part"]["origin"] == "IJ01", body
    assert live(federation, "R11") == [] and live(federation, "R44") == []
    assert [o.status for o in orders_at(federation, "R11")] == ["cancelled"]
    assert [o.status for o in orders_at(federation, "R44")] == ["cancelled"]
    assert [p["outcome"] for p in body["group"]["parts"]] == ["cancelled", "cancelled", "failed"]


def test_an_unreachable_origin_fails_the_group_and_the_local_part_is_released(federation):
    [here] = publish(federation, "R11", quantity=1)
    [at44] = publish(federation, "R44", quantity=1)
    token = national_buyer(federation)
    federation.route_http(down={"R44"})
    refused = federation["R11"].test_client().post("/api/v1/order-groups", json=parts((here, 1), (at44, 1)),
                                                   headers=auth(token))  # fmt: skip
    federation.route_http()
    body = refused.get_json()
    assert refused.status_code == 503 and body["reason"] == "origin_unreachable"
    assert live(federation, "R11") == [] and orders_at(federation, "R44") == []


def test_a_group_is_idempotent_and_a_failed_one_may_be_tried_again(federation):
    [at44] = publish(federation, "R44", quantity=2)
    token = national_buyer(federation)
    client = federation["R11"].test_client()
    headers = auth(token) | {"Idempotency-Key": "group-1"}
    first = client.post("/api/v1/order-groups", json=parts((at44, 1)), headers=headers)
    again = client.post("/api/v1/order-groups", json=parts((at44, 1)), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"] and len(orders_at(federation, "R44")) == 1
    other = client.post("/api/v1/order-groups", json=parts((at44, 2)), headers=headers)
    assert other.status_code == 422 and other.get_json()["reason"] == "idempotency_key_reused"
    key2 = auth(token) | {"Idempotency-Key": "group-2"}
    failed = client.post("/api/v1/order-groups", json=parts((at44, 2)), headers=key2)
    assert failed.status_code == 409
    retried = client.post("/api/v1/order-groups", json=parts((at44, 1)), headers=key2)
    assert retried.status_code == 201 and len(live(federation, "R44")) == 2


def test_bad_groups_are_refused_naming_the_field_and_hold_nothing(federation):
    [at44] = publish(federation, "R44", quantity=2)
    client = federation["R11"].test_client()
    token = national_buyer(federation)
    empty = client.post("/api/v1/order-groups", json={"parts": []}, headers=auth(token))
    assert empty.status_code == 422 and "parts" in empty.get_json()["errors"]["json"]
    twice = client.post("/api/v1/order-groups", json=parts((at44, 1), (at44, 1)), headers=auth(token))
    assert twice.status_code == 422 and "parts" in twice.get_json()["errors"]["json"]
    bad_code = client.post("/api/v1/order-groups", json=parts(("R44-0000000A-X", 1)), headers=auth(token))
    assert bad_code.status_code == 422 and bad_code.get_json()["errors"]["json"]["parts"]["0"]["listing_code"]
    local = local_buyer(federation)
    refused = client.post("/api/v1/order-groups", json=parts((at44, 1)), headers=auth(local))
    assert refused.status_code == 403 and refused.get_json()["reason"] == "national_identity_required"
    assert client.post("/api/v1/order-groups", json=parts((at44, 1))).status_code == 401
    assert orders_at(federation, "R44") == []
    with federation["R11"].app_context(), federation["R11"].extensions["db"].session() as session:
        assert session.scalars(select(OrderGroupPart)).all() == []
