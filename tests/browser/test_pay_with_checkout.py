"""A buyer reserves, pays on the (test) Stripe Checkout page, and comes back to the order confirmed."""

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from ..live import LiveNode
from ..stripe_server import StripeServer
from .conftest import Account, LiveServer, context_factory, create_account, running
from .test_publish_and_find import CODE, CST, local_input, sign_in, spec


@pytest.fixture
def paying_node(tmp_path, monkeypatch):
    """A gunicorn node whose Stripe is the Stripe-compatible test server, which posts its webhooks to the node."""
    node = LiveNode("R44", "regional", tmp_path)
    server = StripeServer(webhook_url=f"{node.url}/payments/stripe/webhook").start()
    for name, value in {"STRIPE_SECRET_KEY": server.api_key, "STRIPE_API_BASE": server.url,
                        "STRIPE_WEBHOOK_SECRET": server.webhook_secret}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    seller = Account("seller@example.cn", "Ma Lin", "Shapotou Computing Co.")
    buyer = Account("buyer@example.cn", "Li Na", "Yinchuan AI Lab")
    node.prepare()
    create_account(node, seller, "seller")
    create_account(node, buyer, "buyer")
    try:
        with running(node):
            yield LiveServer(node.url, node.log, seller, buyer), server
    finally:
        server.stop()


@pytest.mark.browser
def test_buyer_pays_on_the_checkout_page_and_sees_the_order_confirmed(browser, paying_node, tmp_path):
    live, stripe = paying_node
    start = datetime.now(CST).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with context_factory(browser, live.url) as new_context:
        seller = new_context().new_page()
        sign_in(seller, live.seller)
        seller.goto("/listings/new")
        seller.get_by_label("Resource type", exact=True).select_option(label="GPU server")
        seller.get_by_label("Region", exact=True).select_option(label="Gansu")
        seller.get_by_label("Per", exact=True).select_option(label="per GPU-hour")
        form = {"Title": "Qingyang 8× H20 rack", "GPU model": "H20", "GPUs": "8", "GPU memory (GB)": "96",
                "Price": "10.00", "Units available": "3", "Available from (CST)": local_input(start),
                "Available until (CST)": local_input(start + timedelta(days=30))}  # fmt: skip
        for label, value in form.items():
            seller.get_by_label(label, exact=True).fill(value)
        seller.get_by_role("button", name="Publish", exact=True).click()
        expect(spec(seller, "Identification code")).to_have_text(CODE)
        code = spec(seller, "Identification code").inner_text().strip()

        buyer = new_context().new_page()
        sign_in(buyer, live.buyer)
        buyer.goto(f"/listings/{code}")
        buyer.get_by_role("button", name="Get a quote").click()
        buyer.get_by_role("button", name="Reserve for ¥80.00").click()
        expect(buyer.locator("#order-status")).to_have_text("Held")
        expect(buyer.locator("#invoice")).to_contain_text("¥80.00")  # the bank transfer, the other way to pay
        buyer.get_by_role("button", name="Pay ¥80.00 online").click()

        # Stripe's page (the test server's), on another origin: the amount, the methods, Pay.
        expect(buyer).to_have_url(re.compile(rf"^{re.escape(stripe.url)}/c/pay/"))
        expect(buyer.locator("#amount")).to_have_text("¥80.00")
        buyer.get_by_label("alipay").check()
        buyer.get_by_role("button", name="Pay").click()

        expect(buyer).to_have_url(re.compile(rf"^{re.escape(live.url)}/orders/R44-"))
        expect(buyer.locator("#order-status")).to_have_text("Confirmed")
        expect(buyer.locator("#money")).to_contain_text("¥80.00")
        buyer.screenshot(path=tmp_path / "paid.png", full_page=True)
    assert stripe.webhooks.drain(10)
    completed = [d for d in stripe.webhooks.deliveries if d.type == "checkout.session.completed"]
    assert completed and all(d.status == "delivered" for d in completed), [d.as_dict() for d in completed]
