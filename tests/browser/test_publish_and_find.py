"""A seller publishes a GPU listing through the pages; a buyer finds it by search and reads it."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

CST = timezone(timedelta(hours=8))
TITLE = "Zhongwei-Aurora 8× H800 cluster"
CODE = re.compile(r"^R44-[0-9A-Z]{8}-[0-9A-Z]$")


def sign_in(page: Page, account) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out {account.name}")).to_be_visible()


def spec(page: Page, term: str):
    """The value beside `term` in the listing's specifications."""
    return page.locator("dl.specs-table").locator(f"xpath=dt[normalize-space()='{term}']/following-sibling::dd[1]")


def local_input(moment: datetime) -> str:
    """A moment as a datetime-local input takes it, in China Standard Time."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.browser
def test_seller_publishes_and_buyer_finds_listing(live_server, new_context, tmp_path):
    """Publishing refuses a bad window, then succeeds; a buyer finds the listing by text and region and reads it."""
    start = datetime.now(CST).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)

    # The seller fills the form with a window that ends before it starts.
    seller = new_context().new_page()
    sign_in(seller, live_server.seller)
    seller.get_by_role("link", name="Publish", exact=True).click()
    expect(seller.get_by_role("heading", name="Publish a listing")).to_be_visible()
    form = {"Title": TITLE, "GPU model": "H800", "GPUs": "8", "GPU memory (GB)": "80", "City": "Zhongwei",
            "Price": "19.80", "Units available": "3", "Available from (CST)": local_input(start),
            "Available until (CST)": local_input(start - timedelta(days=1))}  # fmt: skip
    seller.get_by_label("Resource type", exact=True).select_option(label="GPU server")
    seller.get_by_label("Region", exact=True).select_option(label="Ningxia")
    seller.get_by_label("Currency", exact=True).select_option(label="CNY")
    seller.get_by_label("Per", exact=True).select_option(label="per GPU-hour")
    for label, value in form.items():
        seller.get_by_label(label, exact=True).fill(value)
    seller.get_by_role("button", name="Publish", exact=True).click()

    # The error stands beside the field, and nothing was published.
    expect(seller.get_by_role("alert")).to_contain_text("The listing was not saved")
    until = seller.get_by_label("Available until (CST)", exact=True)
    expect(until).to_have_attribute("aria-invalid", "true")
    expect(until).to_have_accessible_description("The end of availability must be later than its start.")
    order = "The end of availability must be later than its start."
    expect(seller.locator(".field", has=until).locator(".field-error")).to_have_text(order)
    expect(seller.get_by_label("Title", exact=True)).to_have_value(TITLE)  # what was typed is kept
    seller.screenshot(path=tmp_path / "form-error.png", full_page=True)
    dashboard = seller.context.new_page()
    dashboard.goto("/dashboard")
    expect(dashboard.get_by_role("heading", name="My listings")).to_be_visible()
    expect(dashboard.get_by_text("Aurora")).to_have_count(0)
    dashboard.close()

    # Corrected, it is published and its page shows the new identification code.
    until.fill(local_input(start + timedelta(days=30)))
    seller.get_by_role("button", name="Publish", exact=True).click()
    expect(seller.get_by_role("heading", level=1)).to_have_text(TITLE)
    code_cell = spec(seller, "Identification code")
    expect(code_cell).to_have_text(CODE)
    code = code_cell.inner_text().strip()
    expect(seller).to_have_url(f"{live_server.url}/listings/{code}")
    expect(seller.get_by_role("status")).to_have_text(f"Published {code}.")

    # The buyer, in a browser context of their own, sees the whole catalogue first, then filters.
    buyer = new_context().new_page()
    sign_in(buyer, live_server.buyer)
    buyer.goto("/listings")
    count = buyer.locator(".result-count")
    expect(count).to_have_text(re.compile(r"^\d+\s+listings found$"))
    assert int(count.inner_text().split()[0]) > 1, "the demo listings should be in the catalogue"
    buyer.get_by_label("Search text", exact=True).fill("Aurora H800")
    buyer.get_by_label("Region", exact=True).select_option(label="Ningxia")
    buyer.get_by_label("Resource type", exact=True).select_option(label="GPU server")
    buyer.get_by_role("button", name="Search").click()
    expect(buyer).to_have_url(re.compile(r"[?&]q=Aurora\+H800(&|$)"))
    expect(buyer).to_have_url(re.compile(r"[?&]region=64(&|$)"))
    expect(count).to_have_text("1 listing found")
    card = buyer.locator("article.card", has=buyer.get_by_role("link", name=TITLE))
    expect(card).to_contain_text(code)
    expect(card).to_contain_text("¥19.80")
    buyer.screenshot(path=tmp_path / "search-results.png", full_page=True)

    # The listing's page tells the buyer what, where, how much and from whom.
    card.get_by_role("link", name=TITLE).click()
    expect(buyer).to_have_url(f"{live_server.url}/listings/{code}")
    expect(buyer.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(spec(buyer, "Identification code")).to_have_text(code)
    expect(buyer.locator(".price.big")).to_have_text(re.compile(r"^¥19\.80\s+per GPU-hour$"))
    expect(spec(buyer, "GPU")).to_have_text("8 × H800")
    expect(spec(buyer, "GPU memory")).to_have_text("80 GB each")
    expect(spec(buyer, "Region")).to_have_text("Ningxia (64)")
    expect(spec(buyer, "City")).to_have_text("Zhongwei")
    expect(spec(buyer, "Seller")).to_have_text(f"{live_server.seller.name}, {live_server.seller.org}")
    expect(buyer.get_by_text("3 units available")).to_be_visible()
    expect(buyer.get_by_role("link", name="Edit")).to_have_count(0)  # a buyer cannot manage it
    buyer.screenshot(path=tmp_path / "listing-detail.png", full_page=True)
