"""`/api/v1/listings`: publish, read, change, retire; errors in the one shape; who may do what."""

import pytest
from sqlalchemy import func, select

from marketplace.identity.codes import parse_code
from marketplace.models import Listing

from ..factories import PAYLOADS, bearer, gpu_payload, make_listing, make_user

API = "/api/v1/listings"


def listing_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Listing))


def assert_error_shape(response, status: int) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == status and isinstance(body["status"], str) and body["message"]
    return body


@pytest.mark.parametrize("resource_type", sorted(PAYLOADS))
def test_seller_publishes_every_resource_type(client, db_session, seller, resource_type):
    response = client.post(API, json=PAYLOADS[resource_type], headers=bearer(db_session, seller))
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert parse_code(document["code"]).node_code == "R44"
    assert document["origin"] == "R44" and document["version"] == 1 and document["status"] == "published"
    assert document["seller"] == {"name": "Chen Jing", "org": "Gui'an Computing Co."}
    stored = db_session.scalars(select(Listing).where(Listing.code == document["code"])).one()
    assert stored.resource_type == resource_type and stored.seller_id == seller.id
    # what was sent comes back, and is what is stored
    for field, value in PAYLOADS[resource_type].items():
        if field.startswith("available_"):
            continue
        assert document[field] == value, field


def test_published_document_has_every_protocol_field(client, db_session, seller):
    document = client.post(API, json=gpu_payload(), headers=bearer(db_session, seller)).get_json()
    protocol_fields = {
        "code", "origin", "version", "status", "title", "description", "resource_type", "gpu_model", "gpu_count",
        "gpu_memory_gb", "vcpus", "memory_gb", "storage_gb", "bandwidth_gbps", "model_name", "tokens_per_second",
        "region", "city", "datacenter", "latency_ms", "unit_price", "currency", "price_unit", "quantity",
        "available_from", "available_until", "seller", "updated_at", "min_hours",
    }  # fmt: skip
    assert set(document) == protocol_fields  # `capacity` is absent while every unit is free (§3)
    assert document["available_from"].endswith("+00:00") and document["updated_at"].endswith("+00:00")


def test_codes_are_minted_in_sequence_and_never_reused(client, db_session, seller):
    headers = bearer(db_session, seller)
    first = client.post(API, json=gpu_payload(), headers=headers).get_json()["code"]
    assert client.delete(f"{API}/{first}", headers=headers).status_code == 200
    second = client.post(API, json=gpu_payload(), headers=headers).get_json()["code"]
    assert second != first
    assert int(parse_code(second).serial, 36) == int(parse_code(first).serial, 36) + 1


def test_draft_is_visible_only_to_its_seller(client, db_session, seller, other_seller):
    headers = bearer(db_session, seller)
    code = client.post(API, json=gpu_payload(status="draft"), headers=headers).get_json()["code"]
    assert client.get(f"{API}/{code}", headers=headers).get_json()["status"] == "draft"
    assert_error_shape(client.get(f"{API}/{code}"), 404)
    assert_error_shape(client.get(f"{API}/{code}", headers=bearer(db_session, other_seller)), 404)
    assert client.get(API, query_string={"q": "Gui'an"}).get_json()["total"] == 0


def test_get_by_code_is_case_insensitive(client, db_session, seller):
    listing = make_listing(db_session, seller)
    assert client.get(f"{API}/{listing.code.lower()}").get_json()["code"] == listing.code


@pytest.mark.parametrize("code", ["R44-00000001-X", "nonsense", "R44-ZZZZZZZZ-" + "0"])
def test_unknown_or_malformed_codes_are_404(client, code):
    assert_error_shape(client.get(f"{API}/{code}"), 404)


# --- bad input: 422 naming the field and the reason, nothing stored ---------------------------------

BAD_DOCUMENTS = [
    ({"unit_price": 0}, "unit_price", "greater than 0"),
    ({"unit_price": -5}, "unit_price", "greater than 0"),
    ({"unit_price": "cheap"}, "unit_price", "integer"),
    ({"quantity": -1}, "quantity", "greater than or equal to 0"),
    ({"currency": "btc"}, "currency", "Must be one of"),
    ({"price_unit": "fortnight"}, "price_unit", "Must be one of"),
    ({"price_unit": "gb_month"}, "price_unit", "GPU server is not priced per"),
    ({"region": "99"}, "region", "GB/T 2260"),
    ({"resource_type": "quantum"}, "resource_type", "Must be one of"),
    ({"title": "x" * 201}, "title", "between 3 and 200"),
    ({"description": "x" * 5001}, "description", "5000"),
    ({"gpu_model": None}, "gpu_model", "Required for GPU server listings"),
    ({"gpu_count": 0}, "gpu_count", "greater than or equal to 1"),
    ({"model_name": "Qwen"}, "model_name", "Does not apply to GPU server listings"),
    ({"available_until": "2020-01-01T00:00:00+00:00"}, "available_until", "later than its start"),
    ({"available_from": "2026-12-01T00:00:00"}, "available_from", "timezone"),
    ({"available_from": "tomorrow"}, "available_from", "RFC 3339"),
    ({"latency_ms": -1}, "latency_ms", "greater than or equal to 0"),
    ({"bandwidth_gbps": "NaN"}, "bandwidth_gbps", "Special numeric values"),
    ({"code": "R44-00000001-X"}, "code", "Unknown field"),
    ({"version": 7}, "version", "Unknown field"),
    ({"seller": {"name": "me"}}, "seller", "Unknown field"),
    ({"colour": "red"}, "colour", "Unknown field"),
    ({"status": "retired"}, "status", "Must be one of"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_DOCUMENTS)
def test_bad_documents_are_refused_and_store_nothing(client, db_session, seller, change, field, reason):
    headers = bearer(db_session, seller)
    before = listing_count(db_session)
    payload = gpu_payload() | change
    body = assert_error_shape(client.post(API, json=payload, headers=headers), 422)
    messages = body["errors"]["json"][field]
    assert reason in " ".join(messages), messages
    assert listing_count(db_session) == before


@pytest.mark.parametrize("missing", ["title", "resource_type", "region", "unit_price", "price_unit", "quantity",
                                     "available_from", "available_until"])  # fmt: skip
def test_required_fields(client, db_session, seller, missing):
    payload = gpu_payload()
    del payload[missing]
    body = assert_error_shape(client.post(API, json=payload, headers=bearer(db_session, seller)), 422)
    assert body["errors"]["json"][missing] == ["Missing data for required field."]


def test_body_that_is_not_json_is_refused(client, db_session, seller):
    headers = bearer(db_session, seller) | {"Content-Type": "application/json"}
    response = client.post(API, data="{not json", headers=headers)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == response.status_code


# --- who may write ---------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer cpn_wrong", "Basic dXNlcjpwdw==", "Token cpn_x"])
def test_writes_without_a_valid_token_are_401(client, db_session, header):
    headers = {"Authorization": header} if header else {}
    before = listing_count(db_session)
    response = client.post(API, json=gpu_payload(), headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert listing_count(db_session) == before


@pytest.mark.parametrize("role", ["buyer", "operator"])
def test_only_sellers_publish(client, db_session, role):
    user = make_user(db_session, role=role)
    before = db_session.scalar(select(func.count()).select_from(Listing))
    assert_error_shape(client.post(API, json=gpu_payload(), headers=bearer(db_session, user)), 403)
    assert db_session.scalar(select(func.count()).select_from(Listing)) == before


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_another_sellers_listing_cannot_be_changed(client, db_session, seller, other_seller, method):
    listing = make_listing(db_session, seller)
    kwargs = {"json": {"unit_price": 1}} if method == "patch" else {}
    response = getattr(client, method)(f"{API}/{listing.code}", headers=bearer(db_session, other_seller), **kwargs)
    assert_error_shape(response, 403)
    db_session.refresh(listing)
    assert (listing.unit_price, listing.status, listing.version) == (2050, "published", 1)


def test_changes_need_a_token(client, db_session, seller):
    listing = make_listing(db_session, seller)
    assert_error_shape(client.patch(f"{API}/{listing.code}", json={"unit_price": 1}), 401)
    assert_error_shape(client.delete(f"{API}/{listing.code}"), 401)


# --- changing and retiring -----------------------------------------------------------------------------


def test_patch_changes_fields_and_bumps_version(client, db_session, seller):
    listing = make_listing(db_session, seller)
    response = client.patch(
        f"{API}/{listing.code}", json={"unit_price": 1899, "quantity": 2}, headers=bearer(db_session, seller)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2
    db_session.refresh(listing)
    assert (listing.unit_price, listing.quantity, listing.version) == (1899, 2, 2)


def test_patch_with_no_change_keeps_the_version(client, db_session, seller):
    listing = make_listing(db_session, seller)
    response = client.patch(f"{API}/{listing.code}", json={"unit_price": 2050}, headers=bearer(db_session, seller))
    assert response.get_json()["version"] == 1


def test_patch_is_checked_as_a_whole(client, db_session, seller):
    """Switching to CPU while GPU fields remain is refused, naming them; nothing changes."""
    listing = make_listing(db_session, seller)
    headers = bearer(db_session, seller)
    body = assert_error_shape(
        client.patch(f"{API}/{listing.code}", json={"resource_type": "cpu"}, headers=headers), 422
    )
    assert "Does not apply to CPU compute listings" in body["errors"]["json"]["gpu_model"][0]
    assert "is not priced per" in body["errors"]["json"]["price_unit"][0]
    db_session.refresh(listing)
    assert listing.resource_type == "gpu" and listing.version == 1
    ok = client.patch(
        f"{API}/{listing.code}",
        json={"resource_type": "cpu", "gpu_model": None, "gpu_count": None, "gpu_memory_gb": None,
              "price_unit": "vcpu_hour"},
        headers=headers,
    )  # fmt: skip
    assert ok.status_code == 200 and ok.get_json()["resource_type"] == "cpu"


def test_patch_window_against_stored_start(client, db_session, seller):
    listing = make_listing(db_session, seller)
    body = assert_error_shape(
        client.patch(
            f"{API}/{listing.code}",
            json={"available_until": "2001-01-01T00:00:00Z"},
            headers=bearer(db_session, seller),
        ),
        422,
    )
    assert body["errors"]["json"]["available_until"] == ["The end of availability must be later than its start."]


def test_pause_resume_and_retire(client, db_session, seller):
    listing = make_listing(db_session, seller)
    headers, url = bearer(db_session, seller), f"{API}/{listing.code}"
    assert client.patch(url, json={"status": "paused"}, headers=headers).get_json()["status"] == "paused"
    assert client.get(API, query_string={"q": "Gui'an"}).get_json()["total"] == 0
    assert client.patch(url, json={"status": "published"}, headers=headers).get_json()["status"] == "published"
    assert client.get(API, query_string={"q": "Gui'an"}).get_json()["total"] == 1
    retired = client.delete(url, headers=headers).get_json()
    assert retired["status"] == "retired" and retired["version"] == 4
    # a tombstone: still readable, never erased, no longer changeable
    assert client.get(url).get_json()["status"] == "retired"
    assert db_session.get(Listing, listing.id) is not None
    assert_error_shape(client.delete(url, headers=headers), 409)
    body = assert_error_shape(client.patch(url, json={"unit_price": 1}, headers=headers), 409)
    assert body["errors"]["json"]["status"]
    assert client.get(API, query_string={"q": "Gui'an"}).get_json()["total"] == 0


def test_published_listing_cannot_go_back_to_draft(client, db_session, seller):
    listing = make_listing(db_session, seller)
    assert_error_shape(
        client.patch(f"{API}/{listing.code}", json={"status": "draft"}, headers=bearer(db_session, seller)), 409
    )


def test_unknown_route_and_method_answer_in_the_error_shape(client):
    assert_error_shape(client.get("/api/v1/nothing"), 404)
    response = client.put(API)
    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]


def test_openapi_document_and_docs(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/listings", "/api/v1/listings/{code}", "/healthz"} <= set(spec["paths"])
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.data
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["node_code"] == "R44"
