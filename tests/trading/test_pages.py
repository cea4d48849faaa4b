"""Pages: the listing's chart and order form, quote, reserve, the order page, My orders, Sales, notifications."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.models import Order
from marketplace.templating import CST

from ..conftest import form_token, sign_in
from ..factories import make_listing, make_user
from ..pages import field_error, page_text


def cst(hours: int) -> str:
    """A datetime-local value (China Standard Time) `hours` after the next whole hour."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1 + hours)
    return base.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def listing(db_session, seller):
    return make_listing(db_session, seller, quantity=3)


def reserve(client, listing, units=2, start=0, end=5):
    path = f"/listings/{listing.code}/quote?units={units}&start={cst(start)}&end={cst(end)}"
    token = form_token(client, path)
    form = {"csrf_token": token, "units": str(units), "start": cst(start), "end": cst(end)}
    return client.post(f"/listings/{listing.code}/reserve", data=form)


def test_the_listing_page_charts_free_units_with_a_table_and_offers_the_order_form(client, listing):
    page = client.get(f"/listings/{listing.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and 'role="img"' in html
    assert "Free units by day" in page_text(page) and html.count('<th scope="row">') >= 28
    svg = re.search(r'<svg class="free-chart".*?</svg>', html, re.S).group(0)
    axis = re.findall(r'text-anchor="end">(\d+)</text>', svg)
    assert axis == ["3", "1", "0"]  # the y-axis: all 3 units, half of them, none
    assert "all 3 units free" in page_text(page) and "none free" in page_text(page)  # the colours' key
    assert f'action="/listings/{listing.code}/quote"' in html


def test_the_chart_marks_sold_out_blocks_and_draws_nothing_outside_the_window():
    from types import SimpleNamespace

    from marketplace.trading.chart import HEIGHT, SOLD_OUT_MARK, free_chart

    now = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in China
    listing = SimpleNamespace(quantity=2, available_from=now, available_until=now + timedelta(days=2))
    sold = [{"from": now, "until": now + timedelta(hours=12), "free": 0},
            {"from": now + timedelta(hours=12), "until": now + timedelta(days=2), "free": 2}]  # fmt: skip
    bars = free_chart(listing, sold, now).bars
    # Blocks of 6 hours in China Standard Time from 06:00: sold out until 20:00 (three blocks), then all free
    # until the window ends at 08:00 two days on (the last block counts its 2 hours inside the window).
    assert [bar.kind for bar in bars[:9]] == ["none"] * 3 + ["all"] * 6
    assert bars[0].height == SOLD_OUT_MARK and bars[0].y == HEIGHT - SOLD_OUT_MARK  # visible, not 0 px
    assert {bar.kind for bar in bars[9:]} == {"off"}  # after the window: no offer, not "sold out"
    days = free_chart(listing, sold, now).days
    assert [(low, high) for _day, low, high in days] == [(0, 2), (2, 2), (2, 2)]  # the days offered, no more


def test_a_buyer_quotes_reserves_and_sees_the_order(client, db_session, listing, buyer, seller):
    quote = client.get(f"/listings/{listing.code}/quote?units=2&start={cst(0)}&end={cst(5)}")
    assert quote.status_code == 200
    assert "¥1,640.00" in page_text(quote)  # 2 units × 8 GPUs × 5 h × ¥20.50
    sign_in(client, buyer)
    response = reserve(client, listing)
    assert response.status_code == 302, page_text(response)
    order = db_session.scalars(select(Order)).one()
    assert response.headers["Location"].endswith(f"/orders/{order.code}") and order.status == "held"
    page = page_text(client.get(f"/orders/{order.code}"))
    assert "Held" in page and "minutes left" in page and "bank transfer" in page and order.code in page
    assert order.code in page_text(client.get("/orders"))
    table = client.get(f"/listings/{listing.code}").get_data(as_text=True)
    assert re.search(r"<td>1</td>", table)  # the day of the order: only 1 of 3 units free at its fewest


def test_reserving_too_many_units_shows_why_and_stores_nothing(client, db_session, listing, buyer):
    sign_in(client, buyer)
    assert reserve(client, listing, units=3).status_code == 302
    response = reserve(client, listing, units=1, start=1, end=2)
    assert response.status_code == 409 and "Only 0 units are free" in field_error(response, "units")
    assert len(db_session.scalars(select(Order)).all()) == 1


def test_the_seller_sees_sales_confirms_and_gives_access_and_the_buyer_reports(client, db_session, listing, buyer,
                                                                                 seller):  # fmt: skip
    sign_in(client, buyer)
    reserve(client, listing)
    order = db_session.scalars(select(Order)).one()
    client.post("/logout", data={"csrf_token": form_token(client, "/orders")})
    sign_in(client, seller)
    sales = page_text(client.get("/sales?status=held"))
    assert order.code in sales and "Li Na" in sales
    assert order.code not in page_text(client.get("/sales?status=confirmed"))
    path = f"/orders/{order.code}"
    token = form_token(client, path)
    assert client.post(f"{path}/confirm", data={"csrf_token": token, "reference": "BOC 42"}).status_code == 302
    assert (
        client.post(f"{path}/access", data={"csrf_token": token, "access_details": "ssh gpu@10.1.2.3"}).status_code
        == 302
    )
    assert "Confirmed" in page_text(client.get(path))
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, buyer)
    assert "ssh gpu@10.1.2.3" in page_text(client.get(path))
    token = form_token(client, path)
    assert client.post(f"{path}/report", data={"csrf_token": token, "note": "cannot log in"}).status_code == 302
    notes = page_text(client.get("/notifications"))
    assert "confirmed" in notes and "access details given" in notes and "reported not delivered" in notes


def test_forms_without_csrf_are_refused(client, db_session, listing, buyer):
    sign_in(client, buyer)
    response = client.post(f"/listings/{listing.code}/reserve", data={"units": "1", "start": cst(0), "end": cst(1)})
    assert response.status_code == 400 and db_session.scalars(select(Order)).all() == []


def test_others_do_not_see_an_order(client, db_session, listing, buyer, other_seller):
    sign_in(client, buyer)
    reserve(client, listing)
    code = db_session.scalars(select(Order.code)).one()
    client.post("/logout", data={"csrf_token": form_token(client, "/orders")})
    sign_in(client, other_seller)
    assert client.get(f"/orders/{code}").status_code == 404


def test_dashboard_utilisation_and_no_quantity_below_orders(client, db_session, listing, buyer, seller):
    sign_in(client, buyer)
    reserve(client, listing, units=3, start=0, end=24 * 3)
    client.post("/logout", data={"csrf_token": form_token(client, "/orders")})
    sign_in(client, seller)
    assert "10%" in page_text(client.get("/dashboard"))  # 3 of 3 units for 3 of 30 days
    edit = f"/listings/{listing.code}/edit"
    token = form_token(client, edit)
    values = {"csrf_token": token, "title": listing.title, "resource_type": "gpu", "gpu_model": "H100",
              "gpu_count": "8", "gpu_memory_gb": "80", "region": "52", "price": "20.50", "currency": "cny",
              "price_unit": "gpu_hour", "quantity": "2",
              "available_from": listing.available_from.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S"),
              "available_until": listing.available_until.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    response = client.post(edit, data=values)
    assert response.status_code == 422 and "quantity cannot go below 3" in field_error(response, "quantity")


def test_the_operator_sees_every_order(client, db_session, listing, buyer):
    sign_in(client, buyer)
    reserve(client, listing)
    code = db_session.scalars(select(Order.code)).one()
    client.post("/logout", data={"csrf_token": form_token(client, "/orders")})
    sign_in(client, make_user(db_session, role="operator"))
    assert code in page_text(client.get("/operator/orders"))
    assert client.get(f"/orders/{code}").status_code == 200



def test_the_order_pages_actions_stand_under_their_own_headings_and_cancelling_asks_first(client, db_session,
                                                                                         listing, buyer):  # fmt: skip
    sign_in(client, buyer)
    order_page = client.get(reserve(client, listing).headers["Location"]).get_data(as_text=True)
    cancel = re.search(r'<section id="cancel"><h2>[^<]+</h2>(.*?)</section>', order_page, re.S).group(1)
    assert re.search(r'<input type="checkbox" name="sure" value="yes" required>', cancel)
    assert cancel.index('name="sure"') < cancel.index('type="submit"')
    # The fapiao section holds its own form only: the cancel form is not under its heading.
    fapiao = re.search(r'<section id="fapiao">(.*?)</section>', order_page, re.S).group(1)
    assert "action='cancel'" not in fapiao and "/cancel" not in fapiao


def test_my_orders_and_sales_name_each_listing_by_its_title(client, db_session, listing, buyer, seller):
    sign_in(client, buyer)
    reserve(client, listing)
    assert listing.title in page_text(client.get("/orders"))
    client.post("/logout", data={"csrf_token": form_token(client, "/orders")})
    sign_in(client, seller)
    sales = client.get("/sales")
    assert listing.title in page_text(sales) and f'<a href="/listings/{listing.code}">' in sales.get_data(as_text=True)


def test_a_quote_with_empty_fields_says_they_are_missing(client, listing):
    response = client.get(f"/listings/{listing.code}/quote?units=&start=&end=")
    assert response.status_code == 422
    for name in ("units", "start", "end"):
        assert field_error(response, name) == "Missing data for required field.", name
