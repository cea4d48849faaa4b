"""The operations page (operators of every node) and national's federation page (public)."""

import re

import pytest

from marketplace.listings.schemas import ListingCreateSchema
from marketplace.listings.services import publish_listing
from marketplace.sync.worker import SyncWorker

from ..conftest import sign_in
from ..factories import gpu_payload, make_user
from ..pages import page_text
from ..sync.test_push import publish, push


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_only_operators_see_the_operations_page(client, db_session, role):
    sign_in(client, make_user(db_session, role=role))
    assert client.get("/operations").status_code == 403


def test_the_operations_page_shows_health_capacity_and_the_audit_log(client, db_session):
    seller = make_user(db_session, role="seller")
    data = ListingCreateSchema().load(gpu_payload(quantity=5))
    publish_listing(session=db_session, seller=seller, node_code="R44", data=data)
    operator = make_user(db_session, role="operator")
    sign_in(client, operator)
    response = client.get("/operations")
    assert response.status_code == 200
    text = page_text(response)
    assert "healthy" in text and "Up to the parent" in text
    assert re.search(r"GPU server\s+published\s+1\s+5", text), text
    assert "listing.publish" in text and seller.email in text and "sign_in" in text
    filtered = page_text(client.get("/operations", query_string={"action": "sign_in"}))
    assert "sign_in" in filtered and "listing.publish" not in filtered


def test_the_federation_page_draws_every_node_with_its_round_trip_and_the_price_index(federation):
    publish(federation, "R44", count=2)
    push(federation, "R44")
    SyncWorker(federation.national).watch()
    page = federation.national.test_client().get("/federation")
    assert page.status_code == 200
    html, text = page.get_data(as_text=True), page_text(page)
    for code in ("R11", "R44", "IJ01"):
        assert re.search(rf"{code}\s+\w+\s+.*?healthy", text), code
    when = r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d CST"  # Babel's English date and time
    assert re.search(rf"R44\s+regional\s+N0\s+healthy\s+{when}\s+2\s+[\d.]+ / [\d.]+ ms", text), text
    assert "<polyline" in html and "Median price per GPU-hour" in html  # the chart is drawn
    assert federation["R11"].test_client().get("/federation").status_code == 404  # national's page
