"""A visitor switches a listing's page between English and Simplified Chinese, with or without JavaScript."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect


def screenshot(page, directory: Path, name: str) -> Path:
    """Save a full-page screenshot (into SCREENSHOT_DIR when set, to look at; else the test's folder)."""
    path = directory / f"listing-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not an empty image
    return path


def switch_on_a_listing_page(page, directory: Path | None) -> None:
    """English first (the browser asks for it), then 简体中文 from the switcher, then back to English."""
    page.goto("/listings?resource_type=gpu&price_unit=gpu_hour")  # a listing priced per GPU-hour, whatever the demo
    page.locator(".card h3 a").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    address, title = page.url, page.locator("h1").inner_text()
    expect(page.locator(".price.big")).to_contain_text("per GPU-hour")
    expect(page.locator("dl.specs-table")).to_contain_text("Identification code")
    if directory:
        screenshot(page, directory, "en")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert page.url == address  # back on the same listing
    expect(page.locator("h1")).to_have_text(title)  # the seller's own words are not translated
    expect(page.locator(".price.big")).to_contain_text("每 GPU 卡时")
    expect(page.locator("dl.specs-table")).to_contain_text("标识编码")
    expect(page.locator("nav")).to_contain_text("浏览")
    expect(page.locator("time").first).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）$"))
    if directory:
        screenshot(page, directory, "zh-CN")

    page.goto("/listings")  # the choice is remembered from page to page
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Filters")).to_be_visible()


@pytest.mark.browser
def test_switch_language_on_a_listing_page(browser, live_server, tmp_path):
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    for javascript in (True, False):  # the switcher is a form: it works without JavaScript too
        context = browser.new_context(
            base_url=live_server.url,
            locale="en-US",
            timezone_id="Asia/Shanghai",
            java_script_enabled=javascript,
            viewport={"width": 1280, "height": 900},
        )
        try:
            switch_on_a_listing_page(context.new_page(), directory if javascript else None)
        finally:
            context.close()

    # A browser asking for Chinese gets Chinese from the first page; an English one beside it is not affected.
    chinese = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
    english = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="Asia/Shanghai")
    try:
        page = chinese.new_page()
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.get_by_role("heading", name="查找全国算力资源")).to_be_visible()
        other = english.new_page()
        other.goto("/")
        expect(other.get_by_role("heading", name="Find computing power across the country")).to_be_visible()
    finally:
        chinese.close()
        english.close()
