"""`flask demo-data`: a demo catalogue that follows every rule, loaded once."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from marketplace.accounts.passwords import weak_password_message
from marketplace.identity.codes import parse_code
from marketplace.listings.demo import demo_documents, demo_sellers
from marketplace.listings.schemas import ListingCreateSchema, ListingSchema
from marketplace.listings.vocabulary import RESOURCE_TYPES
from marketplace.models import Listing, User


@pytest.fixture
def runner(app, db_session):
    """A CLI runner whose commands share the test's rolled-back transaction."""
    return app.test_cli_runner()


def listing_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Listing))


def test_demo_data_creates_a_catalogue_once(runner, db_session):
    result = runner.invoke(args=["demo-data", "--count", "40"])
    assert result.exit_code == 0, result.output
    assert "created 40 demo listings under node R44" in result.output
    listings = db_session.scalars(select(Listing)).all()
    assert len(listings) == 40
    assert set(Counter(listing.resource_type for listing in listings)) == set(RESOURCE_TYPES)
    statuses = Counter(listing.status for listing in listings)
    assert statuses["published"] >= 30 and set(statuses) <= {"published", "draft", "paused"}

    again = runner.invoke(args=["demo-data", "--count", "40"])
    assert again.exit_code == 0 and "demo data is already loaded" in again.output
    assert listing_count(db_session) == 40


def test_demo_listings_follow_every_rule(runner, db_session):
    """Each listing has a valid, unique code and its document loads again through the create schema."""
    assert runner.invoke(args=["demo-data", "--count", "40"]).exit_code == 0
    listings = db_session.scalars(select(Listing)).all()
    codes = [str(parse_code(listing.code)) for listing in listings]
    assert codes == [listing.code for listing in listings] and len(set(codes)) == 40
    assert {listing.origin for listing in listings} == {"R44"}
    for listing in listings:
        document = ListingSchema().dump(listing)
        raw = {k: v for k, v in document.items() if k not in ("code", "origin", "version", "seller", "updated_at")}
        raw["status"] = "draft" if listing.status == "draft" else "published"
        assert ListingCreateSchema().validate(raw) == {}, (listing.code, raw)
        assert listing.unit_price > 0 and listing.available_until > listing.available_from
        assert listing.seller_org and listing.updated_at.tzinfo is not None


def demo_password(output: str) -> str:
    """The password `flask demo-data` printed."""
    lines = [line for line in output.splitlines() if line.startswith("demo password (shown once): ")]
    assert len(lines) == 1, output
    return lines[0].rsplit(" ", 1)[1]


def test_demo_sellers_can_sign_in(runner, client, db_session):
    result = runner.invoke(args=["demo-data", "--count", "12"])
    assert result.exit_code == 0
    password = demo_password(result.output)
    expected = demo_sellers("R44")
    sellers = db_session.scalars(select(User).where(User.email.in_([s["email"] for s in expected]))).all()
    assert len(sellers) == len(expected) and {s.role for s in sellers} == {"seller"}
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": expected[0]["email"], "password": password,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_demo_data_shows_on_the_pages(runner, client, db_session):
    assert runner.invoke(args=["demo-data", "--count", "40"]).exit_code == 0
    published = db_session.scalar(select(func.count()).select_from(Listing).where(Listing.status == "published"))
    response = client.get("/listings")
    assert response.status_code == 200 and f"{published} listings found" in " ".join(response.text.split())
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("count", ["0", "-1", "many"])
def test_demo_data_refuses_a_bad_count(runner, db_session, count):
    result = runner.invoke(args=["demo-data", "--count", count])
    assert result.exit_code == 2 and "--count" in result.output
    assert listing_count(db_session) == 0


def test_each_node_of_the_demo_federation_has_a_catalogue_of_its_own():
    """R11 sells in Beijing, R44 in Guangdong, IJ01 to finance: no offer is listed at two nodes."""
    catalogues = {code: demo_documents(node_code=code, count=60) for code in ("R11", "R44", "IJ01", "R52", "R65")}
    assert {raw["region"] for _seller, raw in catalogues["R11"]} == {"11"}
    assert {raw["region"] for _seller, raw in catalogues["R44"]} == {"44"}
    assert {raw["region"] for _seller, raw in catalogues["R65"]} == {"65"}  # a province without demo sellers
    assert {raw["resource_type"] for _seller, raw in catalogues["R52"]} == set(RESOURCE_TYPES)
    finance = catalogues["IJ01"]
    assert all("financial institutions" in raw["description"] for _seller, raw in finance)
    assert {demo_sellers("IJ01")[seller]["organization"] for seller, _raw in finance} <= {
        s["organization"] for s in demo_sellers("IJ01")
    }
    assert any("Financial" in s["organization"] for s in demo_sellers("IJ01"))
    offers = {code: {(raw["title"], raw["datacenter"], raw["unit_price"]) for _s, raw in docs}
              for code, docs in catalogues.items()}  # fmt: skip
    assert not offers["R11"] & offers["R44"] and not offers["R11"] & offers["IJ01"]
    assert not offers["R44"] & offers["IJ01"]


@pytest.mark.parametrize("code", ["N0", "R11", "R44", "IJ01", "IA01", "R65"])
def test_every_demo_document_loads_through_the_create_schema(code):
    for _seller, raw in demo_documents(node_code=code, count=40):
        status = "draft" if raw["status"] == "draft" else "published"
        assert ListingCreateSchema().validate(raw | {"status": status}) == {}, raw


def test_the_demo_password_is_generated_and_strong(runner, db_session):
    """No published password: each load makes its own."""
    password = demo_password(runner.invoke(args=["demo-data", "--count", "6"]).output)
    assert password != "demo-compute-2026" and len(password) >= 16
    assert weak_password_message(password) is None


def test_demo_data_refuses_a_node_served_over_https(app, runner, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://gd.example.cn")
    result = runner.invoke(args=["demo-data", "--count", "6"])
    assert result.exit_code == 1 and "PUBLIC_URL is https" in result.output and "--force" in result.output
    assert listing_count(db_session) == 0
    assert db_session.scalars(select(User).where(User.email == "operator@demo.cpn.example")).first() is None

    forced = runner.invoke(args=["demo-data", "--count", "6", "--force"])
    assert forced.exit_code == 0 and listing_count(db_session) == 6 and demo_password(forced.output)
