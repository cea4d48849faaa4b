"""Reserving another node's listing from its page: a person signed in at R11 through national orders at R44."""

import re

import pytest

from marketplace.accounts.services import create_user
from marketplace.trading.forms import cst_input

from ..federation.test_oidc import PASSWORD, full_sign_in
from ..sync.test_push import pull, push
from .cross_helpers import orders_at, publish, records_at, window

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def copy_at_r11(federation):
    """An R44 listing of 2 units, its copy synced to R11, and a person with an account at national."""
    [code] = publish(federation, "R44", quantity=2)
    push(federation, "R44")
    pull(federation, "R11")
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        create_user(session=session, email="li.na@example.cn", password=PASSWORD, role="buyer", name="Li Na",
                    organization="Hangzhou AI Lab")  # fmt: skip
        session.commit()
    return code


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def form(units: int = 1) -> dict:
    """The order form as a person fills it: units, and the window in China Standard Time."""
    start, end = window()
    return {"units": str(units), "start": cst_input(start), "end": cst_input(end)}


def test_a_person_signed_in_through_national_reserves_another_nodes_listing_from_its_page(federation, copy_at_r11):
    code = copy_at_r11
    r11, done = full_sign_in(federation, "R11", next_url=f"/listings/{code}")
    page = r11.get(f"/listings/{code}").get_data(as_text=True)
    assert 'id="held-elsewhere"' in page and "national-identity-needed" not in page
    quote = r11.get(f"/listings/{code}/quote", query_string=form(2))
    assert quote.status_code == 200 and "Reserve for" in quote.get_data(as_text=True)
    reserved = r11.post(f"/listings/{code}/reserve", data=form(2) | {"csrf_token": csrf(r11, f"/listings/{code}")})
    assert reserved.status_code == 302, reserved.get_data(as_text=True)
    [held] = orders_at(federation, "R44")
    assert reserved.location == f"/orders/{held.code}" and (held.units, held.buyer_node) == (2, "R11")
    order_page = r11.get(reserved.location).get_data(as_text=True)
    assert 'id="held-at"' in order_page and "R44" in order_page and 'id="order-status"' in order_page
    mine = r11.get("/orders").get_data(as_text=True)
    assert 'id="orders-elsewhere"' in mine and held.code in mine
    cancelled = r11.post(f"/orders/{held.code}/cancel", data={"reason": "plans changed",
                                                              "csrf_token": csrf(r11, reserved.location)})  # fmt: skip
    assert cancelled.status_code == 302
    assert [o.status for o in orders_at(federation, "R44")] == ["cancelled"]
    assert records_at(federation, "R11")[0].status == "cancelled"


def test_a_local_account_is_told_how_to_order_across_nodes_in_its_language(federation, copy_at_r11):
    code = copy_at_r11
    with federation["R11"].app_context(), federation["R11"].extensions["db"].session() as session:
        create_user(session=session, email="wang@example.cn", password="x" * 12, role="buyer", name="Wang Lei")
        session.commit()
    client = federation["R11"].test_client()
    client.post("/login", data={"email": "wang@example.cn", "password": "x" * 12, "csrf_token": csrf(client, "/login")})
    page = client.get(f"/listings/{code}").get_data(as_text=True)
    assert 'id="national-identity-needed"' in page and "/auth/national/login" in page
    assert "Reserve for" not in client.get(f"/listings/{code}/quote", query_string=form()).get_data(as_text=True)
    refused = client.post(f"/listings/{code}/reserve", data=form() | {"csrf_token": csrf(client, f"/listings/{code}")})
    assert refused.status_code == 403 and "national identity" in refused.get_data(as_text=True)
    chinese = client.get(f"/listings/{code}", headers=ZH).get_data(as_text=True)
    assert "在其他节点下单需使用国家统一身份登录。" in chinese and "由节点 <strong>R44</strong> 出售并预留" in chinese
    refused_zh = client.post(f"/listings/{code}/reserve", headers=ZH,
                             data=form() | {"csrf_token": csrf(client, f"/listings/{code}")})  # fmt: skip
    assert "在其他节点下单仅限使用国家统一身份登录的用户" in refused_zh.get_data(as_text=True)
    assert orders_at(federation, "R44") == []


def test_the_page_says_the_origin_is_unreachable_and_nothing_is_held(federation, copy_at_r11):
    code = copy_at_r11
    r11, _done = full_sign_in(federation, "R11")
    token = csrf(r11, f"/listings/{code}")
    federation.route_http(down={"R44"})
    refused = r11.post(f"/listings/{code}/reserve", data=form() | {"csrf_token": token})
    federation.route_http()
    assert refused.status_code == 503 and "cannot be reached" in refused.get_data(as_text=True)
    assert orders_at(federation, "R44") == [] and records_at(federation, "R11") == []


def group_form(*parts, next_url="/listings") -> dict:
    """An offer's "Reserve" form: each part's listing code, units and window (China Standard Time)."""
    fields = {"next": next_url}
    for index, (code, units) in enumerate(parts):
        fields |= {f"parts-{index}-{name}": value for name, value in (form(units) | {"listing_code": code}).items()}
    return fields


def test_reserving_an_offer_from_a_page_holds_every_part_or_none(federation, copy_at_r11):
    at44 = copy_at_r11
    [here] = publish(federation, "R11", quantity=1)
    r11, _done = full_sign_in(federation, "R11")
    token = csrf(r11, "/orders")
    held = r11.post("/order-groups", data=group_form((at44, 1), (here, 1)) | {"csrf_token": token})
    assert held.status_code == 302 and held.location == "/orders"
    mine = r11.get("/orders").get_data(as_text=True)
    assert "All 2 parts of the offer are held for you." in mine and 'id="orders-elsewhere"' in mine
    assert [o.status for o in orders_at(federation, "R44")] == ["held"]
    assert [o.status for o in orders_at(federation, "R11")] == ["held"]
    # R11's own listing has no unit left: the next offer fails on it (parts here are held first), and its
    # R44 part is never asked for.
    refused = r11.post("/order-groups", data=group_form((at44, 1), (here, 1), next_url=f"/listings/{at44}")
                       | {"csrf_token": token})  # fmt: skip
    assert refused.status_code == 302 and refused.location == f"/listings/{at44}"
    page = r11.get(refused.location).get_data(as_text=True)
    assert "Part 2" in page and "Nothing is held" in page
    assert [o.status for o in orders_at(federation, "R44")] == ["held"]
    assert [o.status for o in orders_at(federation, "R11")] == ["held"]
    no_csrf = r11.post("/order-groups", data=group_form((at44, 1)))
    assert no_csrf.status_code == 400 and len(orders_at(federation, "R44")) == 1
    bad = r11.post("/order-groups", data=group_form((at44, 0)) | {"csrf_token": token})
    assert bad.status_code == 302 and "could not be reserved" in r11.get("/orders").get_data(as_text=True)
    assert len(orders_at(federation, "R44")) == 1
