"""Values an attacker picks to break parsing: moments outside the years a datetime holds, digits that are not
0-9, exponents that overflow a decimal. Each is a 4xx (or the page again, with its error), never a 5xx."""

import pytest

from .conftest import form_token, sign_in
from .factories import bearer, gpu_payload, make_listing

EARLY = "0001-01-01T00:00:00%2B08:00"  # before year 1 once in UTC
LATE = "9999-12-31T23:59:59-12:00"  # after year 9999 once in UTC


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/listings?available_at={EARLY}",
        f"/api/v1/listings?start=2026-12-20T00:00:00Z&end={LATE}&units=1",
        f"/api/v1/listings?start={EARLY}&end=2026-12-20T00:00:00Z&units=1",
    ],
)
def test_a_search_for_a_moment_no_date_holds_answers_422_naming_it(client, path):
    response = client.get(path)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    errors = response.get_json()["errors"]["query"]
    assert any("Out of range" in text for texts in errors.values() for text in texts), errors


@pytest.mark.parametrize(
    "path",
    [
        f"/listings?available_at={LATE}",
        f"/listings?available_at={EARLY}",
        "/listings?max_price=%C2%B2&price_unit=gpu_hour",  # "²": str.isdigit() says yes, int() says no
        "/listings?max_yuan=1E%2B100000000",
        "/match?amount=%C2%B2",
        "/match?amount=8&max_yuan=1E%2B100000000",
        "/match?amount=8&start=0001-01-01T00:00&end=2026-12-12T00:00",
    ],
)
def test_search_and_match_pages_answer_hostile_values_without_a_5xx(client, path):
    response = client.get(path)
    assert response.status_code < 500, path
    assert response.status_code in (200, 302, 400, 422)


def test_publishing_with_a_moment_no_date_holds_answers_422_and_publishes_nothing(client, db_session, seller):
    headers = bearer(db_session, seller)
    for name, value in (("available_from", "0001-01-01T00:00:00+08:00"), ("available_until", LATE)):
        response = client.post("/api/v1/listings", json=gpu_payload(**{name: value}), headers=headers)
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        assert "Out of range" in response.get_json()["errors"]["json"][name][0]
    assert client.get("/api/v1/listings?per_page=1", headers=headers).get_json()["total"] == 0


def test_matching_refuses_a_moment_no_date_holds(client, db_session, buyer):
    headers = bearer(db_session, buyer)
    demand = {"gpus": 8, "start": "0001-01-01T00:00:00+14:00", "end": "2026-12-12T00:00:00+08:00"}
    match = client.post("/api/v1/matches", headers=headers, json=demand)
    assert match.status_code == 422 and "start" in match.get_json()["errors"]["json"]


@pytest.mark.parametrize("cursor_page", ["/orders", "/sales"])
def test_a_cursor_of_unicode_digits_is_ignored_not_a_5xx(client, db_session, seller, cursor_page):
    sign_in(client, seller)
    assert client.get(f"{cursor_page}?cursor=%C2%B2").status_code == 200


def test_a_seller_form_with_an_overflowing_price_shows_the_form_again(client, db_session, seller):
    sign_in(client, seller)
    form = {"csrf_token": form_token(client, "/listings/new"), "title": "Overflow", "resource_type": "gpu",
            "price": "1E+100000000"}  # fmt: skip
    response = client.post("/listings/new", data=form)
    assert response.status_code == 422
    assert 'name="price"' in response.get_data(as_text=True)


def test_reserving_with_an_expected_total_of_unicode_digits_is_not_a_5xx(client, db_session, seller, buyer, tomorrow):
    listing = make_listing(db_session, seller)
    sign_in(client, buyer)
    start = tomorrow.replace(minute=0, second=0)
    form = {"csrf_token": form_token(client, f"/listings/{listing.code}/quote"), "units": "1",
            "start": start.strftime("%Y-%m-%dT%H:%M"), "end": start.replace(hour=(start.hour + 2) % 24).strftime(
            "%Y-%m-%dT%H:%M"), "expected_total": "²"}  # fmt: skip
    response = client.post(f"/listings/{listing.code}/reserve", data=form)
    assert response.status_code < 500
