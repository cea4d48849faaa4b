"""A node that takes Stripe payments, talking with the real stripe client to the Stripe-compatible test server.

Webhook events are not posted by the server's thread here: each test delivers them itself, signed as Stripe
signs them, through the node's test client, so that they run inside the test's rolled-back transaction.
"""

import json
import time

import pytest

from marketplace.payments.flows import node_payments
from marketplace.payments.stripe_provider import StripeProvider

from ..conftest import migrated_app
from ..stripe_server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeServer
from ..stripe_server.events import sign

COMMISSION_BPS = 500


@pytest.fixture(scope="module")
def app(database_url):
    """The node under test with Stripe keys (each test injects the client of its own test server)."""
    app = migrated_app(database_url, NODE_CODE="R44", NODE_ROLE="regional", STRIPE_SECRET_KEY=DEFAULT_API_KEY,
                       STRIPE_API_BASE="http://127.0.0.1:9", STRIPE_WEBHOOK_SECRET=DEFAULT_WEBHOOK_SECRET,
                       COMMISSION_BPS=COMMISSION_BPS)  # fmt: skip
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def stripe(app):
    """A fresh Stripe-compatible server for one test, its real client injected into the node.

    Order codes repeat between tests (each test's work is rolled back), so each test needs a Stripe of
    its own: the idempotency keys the node sends are named after them.
    """
    server = StripeServer().start()
    payments = node_payments(app)
    previous = payments.providers["stripe"]
    payments.providers["stripe"] = StripeProvider(server.client())
    yield server
    payments.providers["stripe"] = previous
    server.stop()


@pytest.fixture
def payments(app):
    return node_payments(app)


def events_of(server, object_id: str, event_type: str | None = None) -> list[dict]:
    """The server's events about one object, oldest first."""
    found = server.state.all("event", lambda e: e["data"]["object"].get("id") == object_id
                             and (event_type is None or e["type"] == event_type))  # fmt: skip
    return list(reversed(found))


def deliver(client, server, event: dict, *, timestamp: int | None = None, secret: str | None = None):
    """POST one event to the node's webhook, signed like Stripe (a stale `timestamp` or wrong `secret` to test)."""
    payload = json.dumps(event).encode()
    header = sign(payload, secret or server.webhook_secret, timestamp or int(time.time()))
    return client.post("/payments/stripe/webhook", data=payload,
                       headers={"Stripe-Signature": header, "Content-Type": "application/json"})  # fmt: skip
