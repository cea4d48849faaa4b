"""What people do on the order and password pages answers in Chinese: flash messages, refusals, field errors."""

import re

import pytest
from sqlalchemy import select

from marketplace.models import Order
from marketplace.models.types import CST

from ..conftest import form_token, sign_in
from ..factories import PASSWORD, make_listing, make_user
from .orders import next_hour, place
from .pages import ZH, assert_chinese


def cst(moment) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def people(db_session):
    seller = make_user(db_session, role="seller", name="陈静", organization="贵安算力有限公司")
    buyer = make_user(db_session, role="buyer", name="李娜")
    listing = make_listing(db_session, seller, title="贵安 8 卡 H100 服务器", city="贵阳", datacenter="贵安三号机房",
                           description="液冷机房。", quantity=2)  # fmt: skip
    return {"seller": seller, "buyer": buyer, "listing": listing}


def post(client, path: str, form_page: str, **data):
    return client.post(path, data=data | {"csrf_token": form_token(client, form_page)}, headers=ZH,
                       follow_redirects=True)  # fmt: skip


def test_reserving_says_until_when_in_chinese_and_stores_the_line_in_english(app, db_session, people):
    client = app.test_client()
    sign_in(client, people["buyer"])
    code = people["listing"].code
    quote = f"/listings/{code}/quote?units=1&start={cst(next_hour(2))}&end={cst(next_hour(5))}"
    response = post(client, f"/listings/{code}/reserve", quote, units="1", start=cst(next_hour(2)),
                    end=cst(next_hour(5)))  # fmt: skip
    order = db_session.scalars(select(Order)).one()
    assert response.status_code == 200 and order.status == "held"
    body = response.get_data(as_text=True)
    until = r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）"
    assert re.search(rf"订单 {order.code} 已为您预留，有效期至 {until}。", body)
    assert "1 份 × 8 卡 × 3 小时（每 GPU 卡时）" in body and "¥492.00" in body
    assert_chinese(response)
    assert order.lines[0]["description"] == "贵安 8 卡 H100 服务器: 1 × 8 GPUs × 3 h (per GPU-hour)"
    refused = post(client, f"/listings/{code}/reserve", quote, units="2", start=cst(next_hour(2)),
                   end=cst(next_hour(5)))  # fmt: skip
    assert refused.status_code == 409
    assert re.search(r"\d{4}年.*至 .*期间仅有 1 份空闲。", refused.get_data(as_text=True))
    assert_chinese(refused)


def test_order_actions_flash_and_refuse_in_chinese(app, db_session, people):
    order = place(db_session, people["listing"], people["buyer"], start=2, end=5)
    path = f"/orders/{order.code}"
    seller = app.test_client()
    sign_in(seller, people["seller"])
    missing = post(seller, f"{path}/confirm", path, reference=" ")
    assert missing.status_code == 422 and "请填写银行转账流水号。" in missing.get_data(as_text=True)
    assert_chinese(missing)
    confirmed = post(seller, f"{path}/confirm", path, reference="工行 0042")
    text = confirmed.get_data(as_text=True)
    assert "已登记付款：订单已确认。" in text and "已确认 · 操作人：" in text and "已收到付款：工行 0042" in text
    assert_chinese(confirmed)
    no_reason = post(seller, f"{path}/cancel", path, reason="")
    assert no_reason.status_code == 422 and "请说明取消已确认订单的理由。" in no_reason.get_data(as_text=True)
    given = post(seller, f"{path}/access", path, access_details="跳板机地址已通过短信发送。")
    assert "访问方式已保存，买家现在即可查看。" in given.get_data(as_text=True)
    buyer = app.test_client()
    sign_in(buyer, people["buyer"])
    refused = post(buyer, f"{path}/cancel", path, reason="不想要了")
    assert refused.status_code == 409
    assert "免费取消已于开始前 24 小时截止：挂单的卖家或运营方仍可退款。" in refused.get_data(as_text=True)
    assert_chinese(refused)
    reported = post(buyer, f"{path}/report", path, note="")
    assert "已报告：卖家和运营方都会看到此标记。" in reported.get_data(as_text=True)
    assert_chinese(reported)
    refunded = post(seller, f"{path}/cancel", path, reason="机房检修。")
    assert "订单已取消。" in refunded.get_data(as_text=True) and "已退款" in refunded.get_data(as_text=True)
    assert_chinese(refunded)


@pytest.mark.parametrize(
    ("current", "new", "expected", "status"),
    [("wrong password", "Kestrel-quartz-lantern-97", "这不是您当前的密码。", 403),
     (PASSWORD, PASSWORD, "请设置与当前密码不同的新密码。", 422),
     (PASSWORD, "password1234", "此密码太容易被猜到。这是非常常见的密码。", 422),
     (PASSWORD, "short", "请使用 10 到 200 个字符。", 422)],
)  # fmt: skip
def test_password_changes_refused_in_chinese(app, db_session, people, current, new, expected, status):
    client = app.test_client()
    sign_in(client, people["buyer"])
    token = form_token(client, "/account/password")
    data = {"csrf_token": token, "current_password": current, "new_password": new}
    response = client.post("/account/password", headers=ZH, data=data)
    assert response.status_code == status and expected in response.get_data(as_text=True)
    assert_chinese(response)


def test_a_changed_password_is_announced_in_chinese(app, db_session, people):
    client = app.test_client()
    sign_in(client, people["buyer"])
    response = post(client, "/account/password", "/account/password", current_password=PASSWORD,
                    new_password="Kestrel-quartz-lantern-97")  # fmt: skip
    assert "密码已修改；您账户的其他会话均已结束。" in response.get_data(as_text=True)
    assert_chinese(response)
