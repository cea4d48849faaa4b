"""pytest fixtures of the Stripe-compatible server (a plugin, registered in tests/conftest.py)."""

import pytest

from .server import StripeServer


@pytest.fixture
def stripe_server():
    """A fresh server on a free port for one test; point its webhooks with `set_endpoint(url_or_callable)`."""
    server = StripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_client(stripe_server):
    """The real `stripe.StripeClient`, talking to `stripe_server`."""
    return stripe_server.client()
