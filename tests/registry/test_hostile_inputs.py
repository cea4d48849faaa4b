"""Hostile input at the national node: control characters, deep JSON, huge ids, fractions. Never a 5xx."""

import pytest
from sqlalchemy import func, select

from marketplace.models import Listing, NodeApplication, User

from ..conftest import form_token, sign_in
from ..factories import bearer, gpu_payload, make_user
from .factories import regional_application, reviewer
from .test_pages import apply, as_form

NUL = "\x00"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/listings?q=h100%00",
        "/api/v1/listings?gpu_model=%00",
        "/api/v1/listings?region=4%004",
        "/api/v1/listings?cursor=%00",
        "/listings?q=%00",
        "/listings?gpu_model=a%01b",
        "/registry/v1/nodes?parent=R%0044",
        "/registry/v1/nodes/R%0044",
        "/registry/nodes?parent=%00",
        "/registry/v1/resolve/R44%00",
        "/api/v1/listings/R44%00",
        "/listings/R44%00",
    ],
)
def test_control_characters_in_paths_and_queries_answer_400_naming_the_field(client, path):
    response = client.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "control character" in body


def test_a_control_character_in_a_query_names_its_parameter(client):
    body = client.get("/api/v1/listings?gpu_model=H%00100").get_json()
    assert body["errors"] == {"query": {"gpu_model": [body["errors"]["query"]["gpu_model"][0]]}}
    assert body["reason"] == "invalid_characters"


def test_a_control_character_in_a_path_names_its_parameter(client):
    body = client.get("/registry/v1/nodes/R%0044").get_json()
    assert body["code"] == 400 and list(body["errors"]["path"]) == ["code"]


def test_sign_in_with_nul_answers_400_and_signs_nobody_in(client, seller):
    token = form_token(client, "/login")
    response = client.post("/login", data={"email": seller.email + NUL, "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert "email" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code in (302, 401)


def test_sign_up_with_nul_answers_400_and_creates_no_account(client, db_session):
    before = db_session.scalar(select(func.count()).select_from(User))
    form = {"email": "nul@example.cn", "password": "a long enough pass", "role": "buyer", "name": "N" + NUL,
            "organization": "", "csrf_token": form_token(client, "/signup")}  # fmt: skip
    response = client.post("/signup", data=form)
    assert response.status_code == 400
    assert "name" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(User)) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "H100" + NUL + " cluster"), ("city", "Gui" + NUL), ("datacenter", "DC\x1b[31m"),
     ("gpu_model", "H1\x0000"), ("title", "two\nlines"), ("description", "bell\x07")],
)  # fmt: skip
def test_listing_text_with_control_characters_is_refused_at_the_origin(client, db_session, seller, field, value):
    response = client.post("/api/v1/listings", json=gpu_payload(**{field: value}), headers=bearer(db_session, seller))
    assert response.status_code == 422
    assert "control character" in response.get_json()["errors"]["json"][field][0]
    assert db_session.scalar(select(func.count()).select_from(Listing)) == 0


def test_a_description_keeps_its_line_breaks_and_tabs(client, db_session, seller):
    response = client.post(
        "/api/v1/listings", json=gpu_payload(description="Line one\nLine\ttwo"), headers=bearer(db_session, seller)
    )
    assert response.status_code == 201
    assert response.get_json()["description"] == "Line one\nLine\ttwo"


def test_a_listing_form_with_nul_answers_400_and_stores_nothing(client, db_session, seller):
    sign_in(client, seller)
    form = {"title": "Bad" + NUL, "resource_type": "gpu", "csrf_token": form_token(client, "/listings/new")}
    response = client.post("/listings/new", data=form)
    assert response.status_code == 400
    assert "title" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Listing)) == 0


def test_an_application_with_nul_answers_422_and_stores_nothing(client, db_session):
    document = regional_application(contact={"name": "Huang" + NUL, "email": "a@b.cn", "phone": "+86 20 8888 0000"})
    headers = bearer(db_session, make_user(db_session, role="buyer"))  # applying needs an account at national
    response = client.post("/registry/v1/applications", json=document, headers=headers)
    assert response.status_code == 422
    assert "contact" in response.get_json()["errors"]["json"]
    assert db_session.scalar(select(func.count()).select_from(NodeApplication)) == 0


def test_a_review_with_nul_answers_422(client, db_session):
    applicant = bearer(db_session, make_user(db_session, role="buyer"))
    submitted = client.post("/registry/v1/applications", json=regional_application(), headers=applicant).get_json()
    _user, headers = reviewer(db_session, "national_reviewer")
    review = {"stage": "final", "decision": "approve", "reason": "Fine" + NUL}
    response = client.post(f"/registry/v1/applications/{submitted['id']}/reviews", json=review, headers=headers)
    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]["json"]
    assert response.get_json()["errors"]["json"]["reason"][0].startswith("Contains a control character")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/api/v1/listings", "/registry/v1/applications", "/oauth/token"])
def test_json_nested_too_deeply_answers_400(client, db_session, seller, path):
    headers = {"Content-Type": "application/json"} | bearer(db_session, seller)
    response = client.post(path, data=_nested(1000), headers=headers)
    assert response.status_code == 400
    assert "deeper than 64" in response.get_json()["message"]


def test_json_nested_64_deep_is_parsed_and_answered_by_the_schema(client, db_session, seller):
    body = '{"title": ' + _nested(63) + "}"
    response = client.post(
        "/api/v1/listings", data=body, headers={"Content-Type": "application/json"} | bearer(db_session, seller)
    )
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]["json"]


def test_brackets_inside_json_strings_do_not_count_as_nesting(client, db_session, seller):
    response = client.post(
        "/api/v1/listings", json=gpu_payload(description="[" * 500 + '"\\"{'), headers=bearer(db_session, seller)
    )
    assert response.status_code == 201


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_ids_beyond_the_column_answer_404(client, db_session, big):
    _user, headers = reviewer(db_session, "national_reviewer")
    assert client.get(f"/registry/v1/applications/{big}", headers=headers).status_code == 404
    review = {"stage": "final", "decision": "approve", "reason": "Fine."}
    assert client.post(f"/registry/v1/applications/{big}/reviews", json=review, headers=headers).status_code == 404
    assert client.get(f"/registry/applications/{big}").status_code == 404


def test_the_review_page_and_token_revocation_answer_404_beyond_the_column(client, db_session):
    staff = make_user(db_session, role="national_reviewer")
    sign_in(client, staff)
    assert client.get(f"/registry/applications/{2**31}/review").status_code == 404
    token = form_token(client, "/tokens")
    assert client.post(f"/tokens/{2**63}/revoke", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(("field", "value"), [("unit_price", 2050.99), ("gpu_count", 7.5), ("quantity", "4.5"),
                                              ("gpu_count", True), ("gpu_count", "eight")])  # fmt: skip
def test_fractions_and_non_numbers_where_an_integer_is_meant_answer_422(client, db_session, seller, field, value):
    response = client.post("/api/v1/listings", json=gpu_payload(**{field: value}), headers=bearer(db_session, seller))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert db_session.scalar(select(func.count()).select_from(Listing)) == 0


def test_a_whole_number_written_with_a_zero_fraction_is_taken(client, db_session, seller):
    response = client.post("/api/v1/listings", json=gpu_payload(gpu_count=8.0), headers=bearer(db_session, seller))
    assert response.status_code == 201
    assert response.get_json()["gpu_count"] == 8


def test_a_fraction_in_a_patch_answers_422_and_changes_nothing(client, db_session, seller):
    headers = bearer(db_session, seller)
    code = client.post("/api/v1/listings", json=gpu_payload(), headers=headers).get_json()["code"]
    response = client.patch(f"/api/v1/listings/{code}", json={"unit_price": 1999.5}, headers=headers)
    assert response.status_code == 422
    assert client.get(f"/api/v1/listings/{code}").get_json()["unit_price"] == 2050


def test_a_fractional_search_parameter_answers_422(client):
    response = client.get("/api/v1/listings?min_gpus=1.5")
    assert response.status_code == 422
    assert "min_gpus" in response.get_json()["errors"]["query"]


def test_a_jwks_key_whose_kid_is_not_text_answers_422_and_stores_nothing(client, db_session):
    document = regional_application(jwks={"keys": [{"kty": "EC", "crv": "P-256", "kid": ["x"]}]})
    headers = bearer(db_session, make_user(db_session, role="buyer"))
    response = client.post("/registry/v1/applications", json=document, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert "kid" in str(response.get_json()["errors"]["json"]["jwks"])
    assert db_session.scalar(select(func.count()).select_from(NodeApplication)) == 0


def test_a_jwks_nested_thousands_deep_on_the_form_is_refused_beside_the_field(client, db_session):
    form = as_form(regional_application()) | {"jwks": "[" * 5000 + "]" * 5000}
    response = apply(client, form)
    assert response.status_code == 422
    assert "Nests arrays or objects deeper than 64 levels" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(NodeApplication)) == 0
