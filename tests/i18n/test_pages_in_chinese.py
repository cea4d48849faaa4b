"""Every page of a regional node, for every role, in Simplified Chinese: no English sentence left."""

from datetime import timedelta

import pytest

from marketplace.models.types import CST

from ..conftest import sign_in
from ..factories import make_listing, make_user
from .orders import next_hour, orders_of_every_state
from .pages import ZH, assert_chinese, browser_as, form_token, page_endpoints

ROLES = [None, "buyer", "seller", "operator"]
# Chinese data, as Chinese sellers write it: the check is then about the interface, not the data.
LISTING = {
    "title": "贵安 8 卡 H100 服务器",
    "description": "液冷机房，万兆内网。",
    "city": "贵阳",
    "datacenter": "贵安三号机房",
}


@pytest.fixture
def world(db_session):
    """A seller with a listing of each status the pages show, and orders of it in every state."""
    seller = make_user(db_session, role="seller", name="陈静", organization="贵安算力有限公司")
    listing = make_listing(db_session, seller, **LISTING)
    draft = make_listing(db_session, seller, status="draft", **LISTING)
    return {"seller": seller, "listing": listing, "draft": draft} | orders_of_every_state(db_session, listing, seller)


def cst(moment) -> str:
    """A moment as the order form's datetime-local value (China Standard Time)."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


def quote_paths(code: str) -> list[str]:
    """Quotes that are fine, short of free units, and wrong in each way the form can be."""
    start, end = cst(next_hour(24)), cst(next_hour(48))
    past = cst(next_hour(-30))
    return [f"/listings/{code}/quote?units={units}&start={begin}&end={finish}" for units, begin, finish in (
        (1, start, end), (4, start, end), ("x", "", ""), (1, past, start), (99, start, end),
        (1, start.replace(":00", ":30"), end), (1, end, start), (1, cst(next_hour(24 * 100)), cst(next_hour(24 * 101))),
        (1, cst(next_hour(-24 * 3)), start),
    )]  # fmt: skip


def _paths(world) -> dict[str, list[str]]:
    """Endpoint -> the paths that render it (with and without form errors)."""
    code = world["listing"].code
    orders = ("held", "expiring", "confirmed", "cancelled", "refunded", "expired")
    demand = "resource_type=gpu&gpu_models=H100&amount=8&start=2030-01-01T08:00&end=2030-01-01T18:00&near_city=110100"
    return {
        "matching.find_capacity": [
            "/match",
            f"/match?{demand}",
            f"/match?{demand}&max_yuan=x",
            "/match?amount=&start=2030-01-01T08:00&end=2030-01-01T18:00",
        ],
        "listings.home": ["/"],
        "listings.search": ["/listings", "/listings?resource_type=gpu&region=52", "/listings?min_gpus=x&region=99"],
        "listings.detail": [f"/listings/{code}", "/listings/R44-00000000-0"],
        "listings.dashboard": ["/dashboard"],
        "listings.new_listing": ["/listings/new"],
        "listings.edit_listing": [f"/listings/{code}/edit"],
        "listings.confirm_retire": [f"/listings/{code}/retire"],
        "accounts.signup": ["/signup"],
        "accounts.login": ["/login"],
        "accounts.tokens": ["/tokens"],
        "payments.balance": ["/payments/balance"],
        "payments.payouts": ["/operator/payouts"],
        "accounts.password": ["/account/password"],
        "trading.quote": quote_paths(code) + [f"/listings/{world['draft'].code}/quote?units=1"],
        "trading.order_page": [f"/orders/{world[name].code}" for name in orders] + ["/orders/R44-00000000-0"],
        "trading.my_orders": ["/orders", "/orders?status=held"],
        "order_groups.groups_page": ["/order-groups"],
        "trading.sales": ["/sales", f"/sales?status=refunded&listing={code}", "/sales?status=x"],
        "trading.all_orders": ["/operator/orders", "/operator/orders?status=expired"],
        "trading.notifications": ["/notifications"],
        "monitoring.operations": ["/operations", "/operations?actor=nobody"],
        "monitoring.federation": ["/federation"],
    }


def test_every_page_route_is_covered(app, world):
    assert page_endpoints(app) == set(_paths(world))


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_page_in_chinese_for_each_role(app, db_session, world, role):
    client, _user = browser_as(app, db_session, role)
    if role in ("seller", "buyer"):  # the seller of the listing and its buyer: their pages have content
        client = app.test_client()
        sign_in(client, world[role])
    for paths in _paths(world).values():
        for path in paths:
            response = client.get(path, headers=ZH, follow_redirects=True)
            assert response.status_code in (200, 403, 404, 409, 422), (path, response.status_code)
            assert_chinese(response)


def test_the_pages_of_orders_read_as_chinese_readers_expect(app, world):
    client = app.test_client()
    sign_in(client, world["seller"])
    order = world["confirmed"]
    page = client.get(f"/orders/{order.code}", headers=ZH).get_data(as_text=True)
    assert "1 份 × 8 卡 × 24 小时（每 GPU 卡时）" in page  # the stored line, worded for the reader
    assert "已报告未交付" in page and "已收到付款：工行 20261201-0042" in page and "未交付" in page
    assert "银行转账 · 已付款" in page and "年" in page and "（北京时间）" in page
    assert "¥3,936.00" in page  # 8 GPUs × 24 h × ¥20.50, in yuan
    assert order.lines[0]["description"].endswith("1 × 8 GPUs × 24 h (per GPU-hour)")  # stored as the API gives it
    notes = client.get("/notifications", headers=ZH).get_data(as_text=True)
    expected = ("已被买家预留", "已取消并退款（机房检修。）", "已报告未交付（未交付）", "已过期：预留已失效",
                "已提供访问方式")  # fmt: skip
    for text in expected:
        assert text in notes, text
    english = client.get("/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "cancelled and refunded (机房检修。)" in english and "reported not delivered (not delivered)" in english


def test_quote_refusals_name_the_field_in_chinese(app, world):
    client = app.test_client()
    code = world["listing"].code
    start = next_hour(24).astimezone(CST)
    short = client.get(f"/listings/{code}/quote?units=4&start={cst(start)}&end={cst(start + timedelta(hours=24))}",
                       headers=ZH).get_data(as_text=True)  # fmt: skip
    assert "该时段内全程空闲的仅有 1 份：请减少数量或另选时段。" in short
    late = client.get(f"/listings/{code}/quote?units=1&start={cst(next_hour(24 * 100))}&end={cst(next_hour(24 * 101))}",
                      headers=ZH)  # fmt: skip
    until = world["listing"].available_until.astimezone(CST)
    assert late.status_code == 422
    assert f"该挂单可用至 {until.year}年{until.month}月{until.day}日" in late.get_data(as_text=True)


def test_form_errors_and_flash_messages_in_chinese(app, db_session, world):
    client, _user = browser_as(app, db_session, "seller")
    response = client.post("/listings/new", headers=ZH, data={"csrf_token": form_token(client, "/listings/new"),
                                                              "price": "abc", "action": "publish"})  # fmt: skip
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "发布时必填（草稿可以留空）。" in body and "不是数字；请以元为单位填写价格，例如 20.50。" in body
    assert_chinese(response)
    signup = app.test_client().post(
        "/signup",
        headers=ZH,
        data={
            "csrf_token": form_token(app.test_client(), "/signup"),
            "role": "buyer",
            "email": "x",
            "password": "short",
        },
    )
    assert signup.status_code in (400, 422)


def test_signed_out_flash_and_sign_in_prompt_in_chinese(app, db_session):
    client, _user = browser_as(app, db_session, "buyer")
    response = client.post("/logout", headers=ZH, data={"csrf_token": form_token(client, "/")}, follow_redirects=True)
    assert "已退出登录。" in response.get_data(as_text=True)
    prompt = app.test_client().get("/tokens", headers=ZH, follow_redirects=True)
    assert "请先登录再访问此页面。" in prompt.get_data(as_text=True)
    assert_chinese(prompt)
