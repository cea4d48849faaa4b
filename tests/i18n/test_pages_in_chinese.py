"""Every page of a regional node, for every role, in Simplified Chinese: no English sentence left."""

import pytest

from ..factories import make_listing, make_user
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
    """A seller with a listing of each status the pages show."""
    seller = make_user(db_session, role="seller", name="陈静", organization="贵安算力有限公司")
    listing = make_listing(db_session, seller, **LISTING)
    draft = make_listing(db_session, seller, status="draft", **LISTING)
    return {"seller": seller, "listing": listing, "draft": draft}


def _paths(world) -> dict[str, list[str]]:
    """Endpoint -> the paths that render it (with and without form errors)."""
    code = world["listing"].code
    return {
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
    }


def test_every_page_route_is_covered(app, world):
    assert page_endpoints(app) == set(_paths(world))


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_page_in_chinese_for_each_role(app, db_session, world, role):
    client, _user = browser_as(app, db_session, role)
    if role == "seller":  # the seller who owns the listings: their dashboard and edit form have content
        client, _user = app.test_client(), world["seller"]
        from ..conftest import sign_in

        sign_in(client, world["seller"])
    for paths in _paths(world).values():
        for path in paths:
            response = client.get(path, headers=ZH, follow_redirects=True)
            assert response.status_code in (200, 403, 404, 422), path
            assert_chinese(response)


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
