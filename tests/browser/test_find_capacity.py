"""A buyer describes a demand on the "Find capacity" page and compares the offers of the whole catalogue."""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

CST = timezone(timedelta(hours=8))


def local_input(moment: datetime) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.browser
def test_buyer_finds_offers_compares_them_and_sees_what_excluded_the_rest(live_server, new_context):
    page = new_context().new_page()
    page.goto("/match")
    expect(page.get_by_role("heading", name="Find capacity")).to_be_visible()
    # A week from now, for two days: the demo catalogue's GPU servers are mostly available then.
    start = datetime.now(CST).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    page.get_by_label("Resource type", exact=True).select_option(label="GPU server")
    page.get_by_label("GPUs (or units)", exact=True).fill("1")
    page.get_by_label("From (CST)", exact=True).fill(local_input(start))
    page.get_by_label("Until (CST)", exact=True).fill(local_input(start + timedelta(days=2)))
    page.get_by_label("Your city", exact=True).select_option("110100")
    page.get_by_role("button", name="Find offers").click()

    offers = page.locator("table.offers tbody tr")
    expect(offers.first).to_be_visible()
    assert offers.count() >= 1
    expect(page.get_by_text("Latencies are estimates")).to_be_visible()
    first = offers.first
    expect(first.locator(".badge")).to_contain_text("estimated")
    expect(first.get_by_role("button", name="Reserve")).to_be_visible()
    expect(first.locator("td").nth(7)).to_contain_text("R44")
    # Prices per GPU-hour of what was asked come cheapest first.
    prices = [
        float(text.replace("¥", "").replace(",", "")) for text in offers.locator("td:first-child").all_inner_texts()
    ]
    assert prices == sorted(prices)

    # A demand nothing can meet: the page says what each requirement left out.
    page.get_by_label("Max price per GPU-hour (yuan)", exact=True).fill("0.01")
    page.get_by_role("button", name="Find offers").click()
    expect(page.get_by_role("heading", name="No offer fills this demand")).to_be_visible()
    expect(page.locator("table.excluded")).to_contain_text("Price ceiling")
