"""Every page of the national node, for every role, in Simplified Chinese: no English sentence left."""

import pytest

from marketplace.identity.codes import format_code
from marketplace.models import Stream, SyncCursor
from marketplace.models.types import utcnow
from marketplace.monitoring.history import update_price_index
from marketplace.monitoring.latency import record_round_trips
from marketplace.registry.schemas import ApplicationSchema
from marketplace.registry.services import find_node, review_application, set_node_status, submit_application

from ...conftest import sign_in
from ...factories import make_listing, make_user
from ...registry.factories import RULES, industry_application, regional_application
from ..pages import ZH, assert_chinese, browser_as, form_token, page_endpoints

ROLES = [None, "buyer", "seller", "operator", "local_reviewer", "national_reviewer"]
CHINESE_ENTITIES = {
    "construction_entity": {"name": "广东算力基础设施有限公司", "registered_capital_cny": 80_000_000},
    "operating_entity": {"name": "广东算力网络运营有限公司", "telecom_licence": "粤B2-20090059"},
    "contact": {"name": "黄伟", "email": "ops@gd.example.cn", "phone": "+86 20 8888 0000"},
}


def _application(session, document):
    applicant = make_user(session, role="buyer", name="申请人")
    data = ApplicationSchema().load(document)
    application, _token = submit_application(session=session, data=data, applicant=applicant, rules=RULES)
    return application


@pytest.fixture
def world(db_session):
    """An active and a suspended regional node, applications waiting at each stage, decisions, a listing."""
    national = make_user(db_session, role="national_reviewer", name="周洁")
    local = make_user(db_session, role="local_reviewer", name="黄伟")
    local.review_scope = "44"
    for province in ("44", "31"):
        approved = _application(db_session, regional_application(province, **CHINESE_ENTITIES))
        review_application(session=db_session, application=approved, reviewer=national, stage="final",
                           decision="approve", reason="符合通知要求。", rules=RULES)  # fmt: skip
    set_node_status(session=db_session, node=find_node(session=db_session, code="R31"), status="suspended",
                    reason="安全审计未通过。", actor="ops@national.example.cn")  # fmt: skip
    rejected = _application(db_session, regional_application("32", **CHINESE_ENTITIES))
    review_application(session=db_session, application=rejected, reviewer=national, stage="final",
                       decision="reject", reason="注册资本未实缴。", rules=RULES)  # fmt: skip
    initial = _application(db_session, industry_application("J", parent="R44", **CHINESE_ENTITIES))
    final = _application(db_session, industry_application("C", parent="R44", **CHINESE_ENTITIES))
    review_application(session=db_session, application=final, reviewer=local, stage="initial",
                       decision="approve", reason="材料齐全。", rules=RULES)  # fmt: skip
    seller = make_user(db_session, role="seller", name="陈静", organization="贵安算力有限公司")
    listing = make_listing(db_session, seller, node_code="R44", title="贵安 8 卡 H100 服务器", city="贵阳",
                           datacenter="贵安三号机房", description="液冷机房。")  # fmt: skip
    # What the federation page draws: a price index, a round trip, a node heard healthy.
    update_price_index(session=db_session)
    record_round_trips(session=db_session, from_code="N0", round_trips={"R44": 12.5})
    db_session.add(SyncCursor(stream=Stream.health("R44"), updated_at=utcnow()))
    db_session.flush()
    return {"initial": initial, "final": final, "rejected": rejected, "listing": listing, "seller": seller}


def _paths(world) -> dict[str, list[str]]:
    code = world["listing"].code
    applications = [world[name].id for name in ("initial", "final", "rejected")]
    demand = "resource_type=gpu&gpu_models=H100&amount=8&start=2030-01-01T08:00&end=2030-01-01T18:00&near_city=110100"
    return {
        "matching.find_capacity": ["/match", f"/match?{demand}", f"/match?{demand}&max_yuan=x",
                                   "/match?amount=&start=2030-01-01T08:00&end=2030-01-01T18:00"],
        "listings.home": ["/"],
        "listings.search": ["/listings", "/listings?region=x"],
        "listings.detail": [f"/listings/{code}"],
        "listings.dashboard": ["/dashboard"],
        "listings.new_listing": ["/listings/new"],
        "listings.edit_listing": [f"/listings/{code}/edit"],
        "listings.confirm_retire": [f"/listings/{code}/retire"],
        "accounts.signup": ["/signup"],
        "accounts.login": ["/login"],
        "accounts.tokens": ["/tokens"],
        "registry.apply": ["/registry/apply"],
        "registry.application": [f"/registry/applications/{number}" for number in applications],
        "registry.review_queue": ["/registry/review"],
        "registry.review": [f"/registry/applications/{number}/review" for number in applications],
        "registry.nodes": ["/registry/nodes"],
        "registry.node": ["/registry/nodes/N0", "/registry/nodes/R44", "/registry/nodes/R31", "/registry/nodes/R99"],
        "registry.overview_page": ["/registry/overview"],
        "payments.balance": ["/payments/balance"],
        "payments.payouts": ["/operator/payouts"],
        "registry.resolve": ["/resolve", f"/resolve?code={code}", "/resolve?code=R44-0000",
                             "/resolve?code=R44-00000001-0", f"/resolve?code={format_code('R98', '00000001')}"],
        "accounts.password": ["/account/password"],
        "trading.quote": [f"/listings/{code}/quote?units=1"],  # sold at its origin R44, not here
        "trading.order_page": ["/orders/N0-00000000-0"],
        "trading.my_orders": ["/orders"],
        "order_groups.groups_page": ["/order-groups"],
        "trading.sales": ["/sales"],
        "trading.all_orders": ["/operator/orders"],
        "trading.notifications": ["/notifications"],
        "monitoring.operations": ["/operations"],
        "monitoring.federation": ["/federation"],
    }  # fmt: skip


def test_every_page_route_is_covered(app, world):
    assert page_endpoints(app) == set(_paths(world))


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_page_in_chinese_for_each_role(app, db_session, world, role):
    client, _user = browser_as(app, db_session, role)
    if role == "seller":
        client = app.test_client()
        sign_in(client, world["seller"])
    for paths in _paths(world).values():
        for path in paths:
            response = client.get(path, headers=ZH, follow_redirects=True)
            assert response.status_code in (200, 403, 404, 409, 422), (path, response.status_code)
            assert_chinese(response)


def test_application_form_errors_in_chinese(app, db_session, world):
    client, _user = browser_as(app, db_session, "buyer")  # applying needs an account
    data = {"role": "regional", "requested_code": "r4", "registered_capital_cny": "很多", "jwks": "{",
            "public_url": "ftp://x", "csrf_token": form_token(client, "/registry/apply")}  # fmt: skip
    response = client.post("/registry/apply", data=data, headers=ZH)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请以元为单位填写整数注册资本，例如 80,000,000。" in body and "此项为必填项。" in body
    assert "不是有效的 JSON：" in body
    assert_chinese(response, allowed={"Expecting", "property", "name", "enclosed", "in", "double", "quotes"})


def test_review_flash_in_chinese(app, db_session, world):
    client, reviewer = browser_as(app, db_session, "local_reviewer")
    reviewer.review_scope = "44"  # R44's province: its industry nodes are this reviewer's
    db_session.flush()
    path = f"/registry/applications/{world['initial'].id}/review"
    data = {"stage": "initial", "decision": "approve", "reason": "材料齐全。", "csrf_token": form_token(client, path)}
    response = client.post(path, data=data, headers=ZH, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert f"已记录您对第 {world['initial'].id} 号申请的初审决定（通过）：待国家节点终审。" in text
    assert_chinese(response)


def test_the_federation_page_in_chinese(app, db_session, world):
    client, _user = browser_as(app, db_session, "operator")
    body = client.get("/federation", headers=ZH).get_data(as_text=True)
    expected = ("全网概况", "本节点", "往返时延（P50 / P95）", "12.5 / 12.5 毫秒", "按 GPU 型号",
                "每 GPU 卡时价格中位数", "¥20.50", "已停用", "区域", "正常")  # fmt: skip
    for text in expected:
        assert text in body, text
    assert "<polyline" in body and "¥25" in body  # the chart's axis in yuan
