"""A buyer reserves from a listing's page and sees the order; the seller sees it on the Sales page."""

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from .test_publish_and_find import CODE, CST, local_input, sign_in, spec

TITLE = "Qingyang 8× H20 rack"


@pytest.mark.browser
def test_buyer_reserves_from_the_listing_page_and_seller_sees_the_sale(live_server, new_context, tmp_path):
    start = datetime.now(CST).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    seller = new_context().new_page()
    sign_in(seller, live_server.seller)
    seller.goto("/listings/new")
    seller.get_by_label("Resource type", exact=True).select_option(label="GPU server")
    seller.get_by_label("Region", exact=True).select_option(label="Gansu")
    seller.get_by_label("Per", exact=True).select_option(label="per GPU-hour")
    form = {"Title": TITLE, "GPU model": "H20", "GPUs": "8", "GPU memory (GB)": "96", "Price": "10.00",
            "Units available": "3", "Available from (CST)": local_input(start),
            "Available until (CST)": local_input(start + timedelta(days=30))}  # fmt: skip
    for label, value in form.items():
        seller.get_by_label(label, exact=True).fill(value)
    seller.get_by_role("button", name="Publish", exact=True).click()
    code_cell = spec(seller, "Identification code")
    expect(code_cell).to_have_text(CODE)
    code = code_cell.inner_text().strip()

    # The buyer reads the chart of free units, asks for a quote and reserves two units.
    buyer = new_context().new_page()
    sign_in(buyer, live_server.buyer)
    buyer.goto(f"/listings/{code}")
    expect(buyer.get_by_role("img", name=re.compile("Lowest free units"))).to_be_visible()
    buyer.get_by_label("Units", exact=True).fill("2")
    buyer.get_by_role("button", name="Get a quote").click()
    expect(buyer.locator("#quote-total")).to_have_text("¥160.00")  # 2 units × 8 GPUs × 1 h × ¥10.00
    buyer.get_by_role("button", name="Reserve for ¥160.00").click()
    expect(buyer.locator("#order-status")).to_have_text("Held")
    expect(buyer.locator("#hold")).to_contain_text("minutes left")
    expect(buyer.get_by_role("heading", name="How to pay")).to_be_visible()
    order_code = buyer.locator("h1 code").inner_text().strip()
    buyer.screenshot(path=tmp_path / "order.png", full_page=True)
    buyer.get_by_role("link", name="My orders").click()
    expect(buyer.get_by_role("link", name=order_code)).to_be_visible()

    # Asked again for the same hour, the listing has one unit left; the seller sees the sale.
    buyer.goto(f"/listings/{code}")
    buyer.get_by_label("Units", exact=True).fill("3")
    buyer.get_by_role("button", name="Get a quote").click()
    expect(buyer.get_by_role("alert")).to_contain_text("Only 1 unit free throughout this window")
    seller.get_by_role("link", name="Sales").click()
    row = seller.locator("tr", has=seller.get_by_role("link", name=order_code))
    expect(row).to_contain_text("held")
    expect(row).to_contain_text(live_server.buyer.name)
    seller.screenshot(path=tmp_path / "sales.png", full_page=True)
