"""A buyer reserves at the listing's origin; the seller sees the sale; national's copy shows fewer free units.

National N0 and regional R44 run as gunicorn processes with their own SQLite databases and keys and
their own `flask sync run` workers (tests/sync/live_federation.py); R44 is registered and approved at
national through the registry API. The listing is published at R44 through the API (the page form has
its own test in test_reserve_and_sell.py and test_publish_and_find.py).
"""

import time
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from ..sync.live_federation import PASSWORD, LiveFederation
from .conftest import Account, context_factory, create_account
from .test_publish_and_find import CST, local_input, sign_in

pytestmark = pytest.mark.browser
TITLE = "Lanzhou 8× H100 row"
BUYER = Account("zhao.lei@lanzhou-ai.example.cn", "Zhao Lei", "Lanzhou AI Lab")
SELLER = Account("seller@r44.example.cn", "seller R44", "R44 Computing Co.", PASSWORD)  # made by bring_up
SYNCED_WITHIN = 30  # seconds: R44's worker pushes, national applies; room for a loaded 2-core machine


@pytest.fixture
def n0_and_r44(tmp_path):
    """National and R44 serving and syncing; R44 registered at national, with a seller and a buyer."""
    federation = LiveFederation(tmp_path)
    national, r44 = federation["N0"], federation["R44"]
    try:
        for node in (national, r44):
            federation.bring_up(node)
        deadline = time.monotonic() + 30
        for node in (national, r44):
            node.wait_healthy(deadline)
        federation.register(r44)
        create_account(r44, BUYER, "buyer")
        federation.workers["R44"].start()
        federation.workers["R44"].wait_running()
        federation.wait_first_pull("R44")
        federation.workers["N0"].start()
        federation.workers["N0"].wait_running()
        yield federation
    finally:
        federation.stop()


def fewest_free(page: Page, day: str):
    """The cell "Fewest free" of `day` in the table beside the listing's chart."""
    return page.locator("table.free-table").locator(f"xpath=.//tr[th[normalize-space()='{day}']]/td[1]")


def wait_fewest_free(page: Page, path: str, day: str, expected: str) -> None:
    """Reload national's listing page until the day's fewest free units read `expected`."""
    deadline = time.monotonic() + SYNCED_WITHIN
    while True:
        page.goto(path)
        table = page.get_by_text("Free units by day (China Standard Time)")
        if table.count():  # national may not have the listing's copy yet (its page is then a 404)
            table.click()  # open the table's <details>
            text = fewest_free(page, day).inner_text().strip()
        else:
            text = "no copy at national"
        if text == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert text == expected, f"national shows {text} free on {day}, not {expected}"


def test_an_order_at_the_origin_lowers_the_free_units_national_shows(n0_and_r44, browser, tmp_path):
    federation = n0_and_r44
    national, r44 = federation["N0"], federation["R44"]
    start = datetime.now(CST).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    # The window opens two days back: the chart's first 6-hour block (which may begin before now) lies inside it.
    listing = federation.publish("R44", title=TITLE, quantity=3,
                                 available_from=(start - timedelta(days=2)).isoformat(),
                                 available_until=(start + timedelta(days=30)).isoformat())  # fmt: skip
    code, day = listing["code"], f"{start:%Y-%m-%d}"

    with context_factory(browser, national.url) as at_national, context_factory(browser, r44.url) as at_r44:
        # National has the listing's copy: all 3 units free on the order's day.
        reader = at_national().new_page()
        wait_fewest_free(reader, f"/listings/{code}", day, "3")
        expect(reader.get_by_role("heading", name=TITLE)).to_be_visible()

        # At the origin, the buyer asks for 2 units for one hour, reads the quote and reserves.
        buyer = at_r44().new_page()
        sign_in(buyer, BUYER)
        buyer.goto(f"/listings/{code}")
        buyer.get_by_label("Units", exact=True).fill("2")
        buyer.get_by_label("Start (China Standard Time, whole hour)").fill(local_input(start))
        buyer.get_by_label("End (China Standard Time, whole hour)").fill(local_input(start + timedelta(hours=1)))
        buyer.get_by_role("button", name="Get a quote").click()
        expect(buyer.locator("#quote-total")).to_have_text("¥328.00")  # 2 units × 8 GPUs × 1 h × ¥20.50
        buyer.get_by_role("button", name="Reserve for ¥328.00").click()
        expect(buyer.locator("#order-status")).to_have_text("Held")
        order_code = buyer.locator("h1 code").inner_text().strip()
        buyer.get_by_role("link", name="My orders").click()
        expect(buyer.get_by_role("link", name=order_code)).to_be_visible()

        # The seller finds the sale on the Sales page.
        seller = at_r44().new_page()
        sign_in(seller, SELLER)
        seller.get_by_role("link", name="Sales").click()
        row = seller.locator("tr", has=seller.get_by_role("link", name=order_code))
        expect(row).to_contain_text("held")
        expect(row).to_contain_text(BUYER.name)

        # After sync, national's copy of the listing shows one unit free that day.
        wait_fewest_free(reader, f"/listings/{code}", day, "1")
        reader.screenshot(path=tmp_path / "national-listing.png", full_page=True)
