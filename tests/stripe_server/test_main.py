"""`python -m tests.stripe_server`, as the demo runs it: a process serving the API and posting signed events."""

import subprocess
import sys
import time

import pytest
import requests
import stripe

from ..live import ROOT, free_port
from .helpers import session_params
from .test_webhooks import Receiver


@pytest.mark.e2e
def test_the_command_serves_the_api_and_sends_webhooks():
    receiver, port = Receiver(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.stripe_server", "--port", str(port), "--api-key",
                                "sk_test_demo", "--webhook-url", receiver.url, "--webhook-secret", "whsec_demo"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert "Stripe test server on" in process.stdout.readline()
        client = stripe.StripeClient("sk_test_demo", base_addresses={"api": f"http://127.0.0.1:{port}"})
        session = client.v1.checkout.sessions.create(params=session_params())
        assert requests.post(session.url, allow_redirects=False, timeout=5).status_code == 303
        deadline = time.monotonic() + 10
        while len(receiver.types()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        body, headers = receiver.received[-1]
        event = client.construct_event(body, headers["Stripe-Signature"], "whsec_demo")
        assert (event.type, event.data.object.id) == ("checkout.session.completed", session.id)
    finally:
        process.terminate()
        process.wait(10)
        receiver.http.shutdown()
        receiver.http.server_close()
