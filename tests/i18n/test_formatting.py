"""Money, numbers, times, places, industries and messages as each language shows them."""

from datetime import UTC, datetime

import pytest

from marketplace.i18n import local_date, local_time, money, number
from marketplace.i18n.messages import translate_message
from marketplace.i18n.words import TERMS, action_label, term
from marketplace.identity.industries import SECTIONS, SECTIONS_ZH, section_name
from marketplace.identity.regions import PROVINCES, PROVINCES_ZH, province_name
from marketplace.trading.pricing import line_text

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
MOMENT = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)  # 11:00 in China Standard Time


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(EN, ["¥43,100.00", "HK$0.05", "US$1,234,567.89", "-€3.00", "500,000", "Dec 12, 2026, 11:00 CST",
           "Dec 12, 2026"]),
     (ZH, ["¥43,100.00", "HK$0.05", "US$1,234,567.89", "-€3.00", "500,000", "2026年12月12日 11:00（北京时间）",
           "2026年12月12日"])],
)  # fmt: skip
def test_money_numbers_and_china_standard_time(app, headers, expected):
    with app.test_request_context("/", headers=headers):
        shown = [money(4_310_000), money(5, "hkd"), money(123_456_789, "usd"), money(-300, "eur"), number(500_000),
                 local_time(MOMENT), local_date(MOMENT)]  # fmt: skip
        assert shown == expected
        assert money(None) == local_time(None) == "—"


def test_the_day_is_the_day_in_china():
    late = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # already 1 January in China
    assert local_date(late) == "Jan 1, 2027"


def test_every_province_and_industry_has_both_names():
    assert set(PROVINCES_ZH) == set(PROVINCES) and set(SECTIONS_ZH) == set(SECTIONS)
    assert province_name("44", "zh_CN") == "广东省" and province_name("44") == "Guangdong"
    assert province_name("54", "zh_CN") == "西藏自治区" and province_name("99", "zh_CN") == "99"
    assert section_name("I", "zh_CN") == "信息传输、软件和信息技术服务业" and section_name("J") == "Finance"


def test_every_term_is_translated(app):
    with app.test_request_context("/", headers=ZH):
        assert all(term(value) != value for value in TERMS)
        assert term("initial_approved") == "初审通过" and term("R44") == "R44" and term(None) == ""


@pytest.mark.parametrize(
    ("english", "chinese"),
    [("Missing data for required field.", "此项为必填项。"),
     ("Must be greater than or equal to 1.", "不能小于 1。"),
     ("Must be greater than or equal to 1 and less than or equal to 1024.", "必须在 1 到 1024 之间。"),
     ("Length must be between 3 and 200.", "长度必须在 3 到 200 之间。"),
     ("A published listing cannot become draft.", "“已发布”的挂单不能变为“草稿”。"),
     ("Application 7 is approved already; its decisions stand.", "第 7 号申请已是“已通过”状态，原有决定不变。"),
     ("Wrong check character 'Q': the code is mistyped.", "校验字符 Q 不正确：编码有误。"),
     ("keys[0]: Needs a kid of 1 to 64 characters.", "keys[0]: 需要 1 到 64 个字符的 kid。"),
     # a moment in a message is shown in China Standard Time; a value used twice must be the same both times
     ("The listing is available until 2030-03-01T02:00:00+00:00.", "该挂单可用至 2030年3月1日 10:00（北京时间）。"),
     ("Orders hold 3 units from 2030-03-01T02:00:00+00:00 to 2030-03-02T02:00:00+00:00: quantity cannot go below 3.",
      "2030年3月1日 10:00（北京时间） 至 2030年3月2日 10:00（北京时间） 期间已有订单占用 3 份：数量不能少于 3。"),
     ("The order is held: only a held order is confirmed.", "订单当前为“已预留”状态：只有已预留的订单可以确认。"),
     ("payment received: 工行 0042", "已收到付款：工行 0042"),
     # several sentences (a password's feedback): each translated, any unknown one kept
     ("This password is too easy to guess. This is a very common password. Avoid sequences.",
      "此密码太容易被猜到。这是非常常见的密码。避免使用连续的序列。"),
     ("This password is too easy to guess. Something nobody wrote down.",
      "此密码太容易被猜到。Something nobody wrote down."),
     ("Something nobody wrote down.", "Something nobody wrote down.")],
)  # fmt: skip
def test_schema_and_service_messages_in_chinese(app, english, chinese):
    assert_translated(app, translate_message, english, chinese)


def assert_translated(app, translate, english: str, chinese: str) -> None:
    """`translate` gives `chinese` to a Chinese reader and leaves `english` as it is for an English API client."""
    with app.test_request_context("/", headers=ZH):
        assert translate(english) == chinese
    with app.test_request_context("/api/v1/listings", headers=EN):
        assert translate(english) == english


def test_an_english_page_shows_a_messages_moments_in_china_standard_time(app):
    message = "The listing is available until 2030-03-01T02:00:00+00:00."
    with app.test_request_context("/listings/R44-0000000J-G/quote", headers=EN):
        assert translate_message(message) == "The listing is available until Mar 1, 2030, 10:00 CST."
        assert translate_message("Wrong check character 'Q': the code is mistyped.") == (
            "Wrong check character 'Q': the code is mistyped."
        )  # nothing else of the message changes
    with app.test_request_context("/api/v1/orders", headers=EN):
        assert translate_message(message) == message  # API clients read RFC 3339
    with app.test_request_context("/orders", headers=EN):  # another node's message may hold any moment
        assert translate_message("Held until 9999-12-31T23:30:00Z.") == "Held until 9999-12-31T23:30:00Z."


@pytest.mark.parametrize(
    ("stored", "chinese"),
    [("贵安 8 卡: H100: 2 × 8 GPUs × 24 h (per GPU-hour)", "贵安 8 卡: H100：2 份 × 8 卡 × 24 小时（每 GPU 卡时）"),
     ("CPU: 1 × 64 vCPUs × 5 h (per vCPU-hour)", "CPU：1 份 × 64 vCPU × 5 小时（每 vCPU 核时）"),
     ("存储: 2 × 500 GB × 10 h / 730 h (per GB-month)", "存储：2 份 × 500 GB × 10 小时 ÷ 730 小时（每 GB·月）"),
     ("模型: 3 prepaid (per million tokens)", "模型：3 份（预付）（每百万词元）"),
     ("A line someone else wrote", "A line someone else wrote")],
)  # fmt: skip
def test_an_order_line_is_stored_in_english_and_shown_in_the_readers_language(app, stored, chinese):
    assert_translated(app, line_text, stored, chinese)


@pytest.mark.parametrize(
    ("action", "english", "chinese"),
    [("sign_in", "signed in", "登录"),
     ("order.access_given", "order: access given", "订单：已提供访问方式"),
     ("order.confirmed_elsewhere", "order: confirmed (at another node)", "订单：已确认（在其他节点）"),
     ("review.approve", "review: approve", None),
     ("something.new", "something.new", "something.new")],
)  # fmt: skip
def test_audit_actions_read_as_words_in_the_readers_language(app, action, english, chinese):
    with app.test_request_context("/operations", headers=EN):
        assert action_label(action) == english
    with app.test_request_context("/operations", headers=ZH):
        assert chinese is None or action_label(action) == chinese
        assert action_label(action) != action or action == "something.new"
