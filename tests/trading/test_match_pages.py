"""The "Find capacity" page: a demand in yuan and China Standard Time, offers compared, exclusions explained."""

import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.models import Order
from marketplace.models.types import CST

from ..conftest import sign_in
from ..factories import make_listing


def _cst(hours: int) -> str:
    moment = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


def _demand(**overrides) -> dict:
    return {"resource_type": "gpu", "gpu_models": "H100", "amount": "12", "start": _cst(2), "end": _cst(12)} | overrides


def test_offers_are_compared_in_a_table_with_a_reserve_form_per_offer(client, db_session, seller, other_seller):
    make_listing(db_session, seller, unit_price=1500, gpu_count=8, quantity=1, city_code="520100")
    make_listing(db_session, other_seller, region="11", unit_price=1700, gpu_count=8, quantity=1,
                 city_code="110100", latency_ms=0.3)  # fmt: skip
    response = client.get("/match", query_string=_demand(near_city="110100"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('<tr class="offer">') == 1  # neither fills 12 GPUs alone: the two combined
    assert "¥2,560.00" in page and "4 more than asked" in page  # (8 × 15 + 8 × 17) × 10 h; 16 GPUs
    assert "latency-far" in page and "Latencies are estimates" in page  # Guiyang is far from Beijing
    assert page.count('action="/order-groups"') == 1
    assert 'name="parts-0-listing_code"' in page and 'name="parts-1-listing_code"' in page


def test_reserving_an_offer_from_the_page_holds_every_part(client, db_session, seller, other_seller, buyer):
    first = make_listing(db_session, seller, unit_price=1500, gpu_count=8, quantity=1)
    second = make_listing(db_session, other_seller, region="11", unit_price=1700, gpu_count=8, quantity=1)
    sign_in(client, buyer)
    page = client.get("/match", query_string=_demand()).get_data(as_text=True)
    form = page[page.index('action="/order-groups"'):]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    response = client.post("/order-groups", data={k: html.unescape(v) for k, v in fields.items()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/orders")
    held = db_session.scalars(select(Order).where(Order.buyer_id == buyer.id)).all()
    assert sorted((o.listing_code, o.units, o.status) for o in held) == sorted(
        [(first.code, 1, "held"), (second.code, 1, "held")]
    )
    assert sum(o.total for o in held) == 256000  # the prices the offer showed: (8 × 15 + 8 × 17) × 10 h
    together = client.get("/orders").get_data(as_text=True)  # "My orders" shows the plan as one, with its total
    group = together[together.index('<h2 id="groups">'):]
    assert "2 parts" in group and "¥2,560.00" in group and all(o.code in group for o in held)
    assert client.get("/order-groups").headers["Location"].endswith("/orders#groups")


def test_with_no_offer_the_page_says_what_each_requirement_left_out(client, db_session, seller):
    make_listing(db_session, seller, unit_price=3000, gpu_count=8, quantity=2)
    page = client.get("/match", query_string=_demand(max_yuan="20")).get_data(as_text=True)
    assert "No offer fills this demand" in page
    assert '<td>Price ceiling</td><td class="num">1</td>' in page


def test_bad_demands_are_shown_beside_the_fields(client):
    response = client.get("/match", query_string=_demand(amount="", max_yuan="abc", near_city="999999"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "two decimals" in page
    response = client.get("/match", query_string=_demand(near_city="999999"))
    assert response.status_code == 422 and 'id="near_city-error"' in response.get_data(as_text=True)
    response = client.get("/match", query_string=_demand(amount=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="amount-error"' in page and "Say how many GPUs are wanted." in page


def test_the_empty_form_asks_for_a_demand(client):
    response = client.get("/match")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Find capacity" in page and "offer" not in page.split("</form>")[-1]


def test_a_buyer_without_the_national_identity_is_told_before_reserving_other_nodes_capacity(client, db_session,
                                                                                            seller, buyer):  # fmt: skip
    make_listing(db_session, seller, node_code="R11", unit_price=1500, gpu_count=8, quantity=2)  # sold at R11
    sign_in(client, buyer)  # an account of this node (R44) only
    page = client.get("/match", query_string=_demand(amount="8")).get_data(as_text=True)
    assert '<tr class="offer">' in page and 'action="/order-groups"' not in page
    assert "sign in with the national identity to reserve" in html.unescape(page)
