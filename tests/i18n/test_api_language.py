"""The API's machine-readable parts never change with Accept-Language; only an error's `message` does."""

from datetime import UTC, datetime, timedelta

import pytest

from ..factories import bearer, gpu_payload, make_listing

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def both(client, method: str, path: str, **kwargs):
    """The same request in Chinese, in English and with no Accept-Language at all."""
    headers = kwargs.pop("headers", {})
    return [client.open(path, method=method, headers=headers | language, **kwargs) for language in (ZH, EN, {})]


def test_documents_and_searches_are_the_same_in_every_language(client, db_session, seller):
    listing = make_listing(db_session, seller)
    for path in ("/api/v1/listings", f"/api/v1/listings/{listing.code}", "/api/v1/listings?sort=price&region=52",
                 "/api/openapi.json", "/healthz"):  # fmt: skip
        zh, en, plain = both(client, "GET", path)
        assert zh.status_code == en.status_code == 200
        assert zh.get_json() == en.get_json() == plain.get_json(), path


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "chinese"),
    [("GET", "/api/v1/listings/R44-00000000-0", None, 404, "没有挂单 R44-00000000-0。"),
     ("GET", "/api/v1/listings?min_gpus=x&sort=cheap", None, 422, "请求格式正确，但因语义错误无法处理。"),
     ("POST", "/api/v1/listings", {"title": "x"}, 401, "需要有效的 API 令牌：Authorization: Bearer <token>。")],
)  # fmt: skip
def test_errors_keep_code_status_errors_and_reason_and_translate_only_message(client, method, path, body, status,
                                                                             chinese):  # fmt: skip
    zh, en, plain = both(client, method, path, json=body)
    assert zh.status_code == en.status_code == plain.status_code == status
    zh_body, en_body = zh.get_json(), en.get_json()
    assert zh_body.pop("message") == chinese
    assert en_body.pop("message") == plain.get_json().pop("message")
    assert zh_body == en_body  # code, status ("Not Found"), errors, reason: for machines, in one language
    assert zh.headers["Content-Language"] == "zh-CN" and en.headers["Content-Language"] == "en"


def test_validation_errors_keep_their_fields_and_messages_for_machines(client, db_session, seller):
    headers = bearer(db_session, seller)
    payload = gpu_payload(unit_price=0, region="99")
    zh, en, _plain = both(client, "POST", "/api/v1/listings", json=payload, headers=headers)
    assert zh.status_code == en.status_code == 422
    assert zh.get_json()["errors"] == en.get_json()["errors"]
    assert en.get_json()["errors"]["json"]["unit_price"] == ["Must be greater than 0."]


def test_a_language_cookie_does_not_change_the_api(client):
    client.set_cookie("lang", "zh_CN")
    response = client.get("/api/v1/listings/R44-00000000-0")
    assert response.get_json()["message"] == "No listing R44-00000000-0."
    assert response.headers["Content-Language"] == "en"


def test_quotes_and_orders_are_the_same_in_every_language(client, db_session, seller, buyer):
    listing = make_listing(db_session, seller)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    window = {"units": 1, "start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()}
    answers = zh, en, plain = both(client, "POST", f"/api/v1/listings/{listing.code}/quote", json=window)
    assert zh.status_code == en.status_code == 200
    timeless = [{name: value for name, value in answer.get_json().items() if name != "as_of"} for answer in answers]
    assert timeless[0] == timeless[1] == timeless[2]
    assert en.get_json()["lines"][0]["description"].endswith(": 1 × 8 GPUs × 3 h (per GPU-hour)")
    headers = bearer(db_session, buyer)
    placed = client.post("/api/v1/orders", json=window | {"listing_code": listing.code}, headers=headers | ZH)
    assert placed.status_code == 201, placed.get_json()
    zh, en, plain = both(client, "GET", f"/api/v1/orders/{placed.get_json()['code']}", headers=headers)
    assert zh.get_json() == en.get_json() == plain.get_json() == placed.get_json()
    assert placed.get_json()["lines"][0]["description"].endswith("(per GPU-hour)")  # placed in Chinese, stored as is
