"""Forms for people: every error at once in plain words, yuan and CST everywhere, drafts, retiring with a question."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from marketplace.listings.forms import document_to_form
from marketplace.models import Listing

from ..conftest import form_token, sign_in
from ..factories import bearer, gpu_payload, make_listing
from ..pages import field_error, page_text
from .test_pages import FORM, listing_count

API_WORDS = ("resource_type", "available_from", "available_until", "unit_price", "price_unit", "Missing data")


def test_the_publish_form_shows_every_error_at_once_in_plain_words(client, db_session, seller):
    sign_in(client, seller)
    bad = {"price": "abc", "gpu_model": "", "available_until": "2026-05-01T09:00", "quantity": "2.5",
           "price_unit": "million_tokens"}  # fmt: skip
    data = FORM | bad | {"csrf_token": form_token(client, "/listings/new")}
    response = client.post("/listings/new", data=data)
    assert response.status_code == 422
    shown = {name: field_error(response, name) for name in ("price", "gpu_model", "available_until", "quantity",
                                                             "price_unit")}  # fmt: skip
    assert shown == {
        "price": "Not a number; write the price in yuan, e.g. 20.50.",
        "gpu_model": "Required for GPU server listings.",
        "available_until": "The end of availability must be later than its start.",
        "quantity": "Write a whole number, without a fraction.",
        "price_unit": "GPU server is not priced per million tokens; choose per GPU-hour, per hour or per month.",
    }
    assert not any(word in " ".join(shown.values()) for word in API_WORDS)
    assert listing_count(db_session) == 0


def test_a_price_finer_than_one_fen_is_refused_not_rounded(client, db_session, seller):
    sign_in(client, seller)
    data = FORM | {"price": "19.805", "csrf_token": form_token(client, "/listings/new")}
    response = client.post("/listings/new", data=data)
    assert response.status_code == 422
    assert field_error(response, "price").startswith("At most two decimals")
    assert listing_count(db_session) == 0


def test_the_edit_form_shows_field_and_cross_field_errors_together(client, db_session, seller):
    listing = make_listing(db_session, seller)
    sign_in(client, seller)
    data = document_to_form(listing) | {"price": "-1", "available_until": "2020-01-01T00:00", "gpu_count": ""}
    response = client.post(f"/listings/{listing.code}/edit", data=data | {"csrf_token": form_token(client, "/")})
    assert response.status_code == 422
    assert field_error(response, "price") == "Must be greater than 0."
    assert field_error(response, "available_until") == "The end of availability must be later than its start."
    assert field_error(response, "gpu_count") == "Required for GPU server listings."
    db_session.refresh(listing)
    assert listing.version == 1


def test_the_api_reports_every_error_at_once(client, db_session, seller):
    payload = gpu_payload(unit_price=0, gpu_model=None, available_until="2020-01-01T00:00:00+00:00")
    response = client.post("/api/v1/listings", json=payload, headers=bearer(db_session, seller))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"unit_price", "gpu_model", "available_until"}


# --- drafts ------------------------------------------------------------------------------------------------


def test_a_draft_may_leave_everything_but_its_title_empty(client, db_session, seller):
    sign_in(client, seller)
    data = {"title": "Half-written H100 offer", "resource_type": "gpu", "region": "", "price": "",
            "action": "draft", "csrf_token": form_token(client, "/listings/new")}  # fmt: skip
    response = client.post("/listings/new", data=data)
    assert response.status_code == 302
    draft = db_session.scalars(select(Listing).where(Listing.seller_id == seller.id)).one()
    assert (draft.status, draft.unit_price, draft.region, draft.available_from) == ("draft", None, None, None)
    assert "Half-written H100 offer" in page_text(client.get("/dashboard"))
    assert client.get(f"/listings/{draft.code}").status_code == 200
    assert client.get(f"/listings/{draft.code}/edit").status_code == 200


def test_publishing_an_incomplete_draft_shows_what_is_missing_and_keeps_it_a_draft(client, db_session, seller):
    sign_in(client, seller)
    data = {"title": "Half-written", "resource_type": "gpu", "gpu_model": "H100", "action": "draft",
            "csrf_token": form_token(client, "/listings/new")}  # fmt: skip
    client.post("/listings/new", data=data)
    draft = db_session.scalars(select(Listing).where(Listing.seller_id == seller.id)).one()
    token = form_token(client, "/dashboard")
    response = client.post(f"/listings/{draft.code}/status", data={"action": "publish", "csrf_token": token})
    assert response.status_code == 422
    for field in ("price", "region", "quantity", "available_from", "available_until", "gpu_count"):
        assert field_error(response, field), field
    assert field_error(response, "price") == "Required to publish (a draft may leave it empty)."
    db_session.refresh(draft)
    assert (draft.status, draft.version) == ("draft", 1)


def test_publishing_needs_every_field_through_the_api_too(client, db_session, seller):
    headers = bearer(db_session, seller)
    created = client.post("/api/v1/listings", json={"title": "API draft", "status": "draft"}, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["unit_price"] is None
    code = created.get_json()["code"]
    response = client.patch(f"/api/v1/listings/{code}", json={"status": "published"}, headers=headers)
    assert response.status_code == 422
    assert {"unit_price", "region", "resource_type", "available_from"} <= set(response.get_json()["errors"]["json"])
    incomplete = client.post("/api/v1/listings", json={"title": "Not a draft"}, headers=headers)
    assert incomplete.status_code == 422
    assert incomplete.get_json()["errors"]["json"]["unit_price"] == ["Missing data for required field."]


def test_a_draft_completed_and_published_reaches_search(client, db_session, seller):
    headers = bearer(db_session, seller)
    code = client.post("/api/v1/listings", json={"title": "Soon complete", "status": "draft"}, headers=headers)
    code = code.get_json()["code"]
    rest = {k: v for k, v in gpu_payload().items() if k != "title"} | {"status": "published"}
    assert client.patch(f"/api/v1/listings/{code}", json=rest, headers=headers).status_code == 200
    found = client.get("/api/v1/listings?q=soon").get_json()["items"]
    assert [item["code"] for item in found] == [code]


# --- retiring asks first -------------------------------------------------------------------------------------


def test_retiring_asks_for_confirmation_first(client, db_session, seller):
    listing = make_listing(db_session, seller)
    sign_in(client, seller)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/listings/{listing.code}/retire"' in dashboard
    token = form_token(client, "/dashboard")
    unconfirmed = client.post(f"/listings/{listing.code}/status", data={"action": "retire", "csrf_token": token})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"] == f"/listings/{listing.code}/retire"
    db_session.refresh(listing)
    assert listing.status == "published"
    question = client.get(f"/listings/{listing.code}/retire")
    assert question.status_code == 200
    assert "never used again" in page_text(question) and 'name="confirm" value="yes"' in question.get_data(True)
    data = {"action": "retire", "confirm": "yes", "csrf_token": token}
    assert client.post(f"/listings/{listing.code}/status", data=data).status_code == 302
    db_session.refresh(listing)
    assert listing.status == "retired"


def test_only_the_seller_sees_the_retire_question(client, db_session, seller, other_seller):
    listing = make_listing(db_session, seller)
    sign_in(client, other_seller)
    assert client.get(f"/listings/{listing.code}/retire").status_code == 403


# --- the search form: yuan and CST for people, the API's units in the address ----------------------------------


def test_the_search_form_takes_yuan_and_a_cst_day_and_lands_on_the_apis_address(client):
    form = {"q": "h100", "max_yuan": "20.50", "price_unit": "gpu_hour", "available_on": "2026-12-01",
            "resource_type": "", "region": ""}  # fmt: skip
    response = client.get("/listings", query_string=form)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/listings"
    assert parse_qs(location.query) == {"q": ["h100"], "max_price": ["2050"], "price_unit": ["gpu_hour"],
                                        "available_at": ["2026-12-01T00:00:00+08:00"]}  # fmt: skip
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="max_yuan" type="text" value="20.50"' in text
    assert 'name="available_on" type="date" value="2026-12-01"' in text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [({"max_yuan": "abc", "price_unit": "gpu_hour"}, "max_yuan", "write the price in yuan"),
     ({"max_yuan": "20.505", "price_unit": "gpu_hour"}, "max_yuan", "At most two decimals"),
     ({"available_on": "tomorrow"}, "available_on", "Not a date")],
)  # fmt: skip
def test_a_bad_yuan_amount_or_day_is_shown_beside_its_field(client, form, field, message):
    response = client.get("/listings", query_string=form)
    assert response.status_code == 422
    assert message in field_error(response, field)


def test_a_maximum_price_needs_its_unit_on_the_page(client):
    response = client.get("/listings", query_string={"max_yuan": "20"}, follow_redirects=True)
    assert response.status_code == 422
    assert "price unit" in field_error(response, "max_yuan")


def test_a_maximum_price_needs_its_unit_in_the_api(client):
    response = client.get("/api/v1/listings?max_price=2000")
    assert response.status_code == 422
    assert "price_unit" in response.get_json()["errors"]["query"]["max_price"][0]


def test_max_price_compares_like_with_like(client, db_session, seller):
    make_listing(db_session, seller, title="Per GPU-hour offer", unit_price=1500)
    make_listing(db_session, seller, title="Per month offer", unit_price=900_000, price_unit="month")
    make_listing(db_session, seller, title="Per hour offer", unit_price=1000, price_unit="hour")
    found = client.get("/api/v1/listings?max_price=2000&price_unit=gpu_hour").get_json()["items"]
    assert [item["title"] for item in found] == ["Per GPU-hour offer"]
    text = page_text(client.get("/listings?max_price=2000&price_unit=gpu_hour"))
    assert "Per GPU-hour offer" in text and "Per hour offer" not in text and "Per month offer" not in text
