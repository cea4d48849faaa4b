"""The Stripe test server's hosted pages in Chromium: the Pay button pays and returns to the merchant."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..stripe_server.helpers import session_params

pytestmark = pytest.mark.browser


@pytest.fixture
def merchant():
    """A page on a real port standing in for the node's success, cancel and return pages."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"<html><body><h1>Merchant page {self.path}</h1></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    http.server_close()


def test_pay_on_the_hosted_checkout_page(browser, stripe_server, stripe_client, merchant):
    session = stripe_client.v1.checkout.sessions.create(params=session_params(
        success_url=f"{merchant}/orders/ORD-1/paid?session={{CHECKOUT_SESSION_ID}}", cancel_url=f"{merchant}/cancel"))
    page = browser.new_page()
    try:
        page.goto(session.url)
        assert page.locator("#amount").inner_text() == "¥246.90"
        page.get_by_label("alipay").check()
        page.get_by_role("button", name="Pay").click()
        page.wait_for_url(f"{merchant}/orders/ORD-1/paid?session={session.id}")
    finally:
        page.close()
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert paid.status == "complete"
    assert paid.payment_intent.latest_charge.payment_method_details.type == "alipay"


def test_onboard_on_the_hosted_account_link_page(browser, stripe_client, merchant):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    link = stripe_client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
        "refresh_url": f"{merchant}/payouts/refresh", "return_url": f"{merchant}/payouts/done"})  # fmt: skip
    page = browser.new_page()
    try:
        page.goto(link.url)
        page.get_by_role("button", name="Submit").click()
        page.wait_for_url(f"{merchant}/payouts/done")
    finally:
        page.close()
    assert stripe_client.v1.accounts.retrieve(account.id).charges_enabled is True
