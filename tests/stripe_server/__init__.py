"""A small stateful Stripe-compatible HTTP server for tests and the demo (Stripe itself is not reachable).

The real `stripe` client talks to it (`StripeServer.client()`, or `stripe.StripeClient(key,
base_addresses={"api": server.url})`). It keeps Checkout Sessions, PaymentIntents, Charges, Refunds,
Accounts, Account Links, Transfers and Events in memory, serves the hosted checkout and onboarding
pages, and posts each event to one webhook endpoint signed like Stripe. See `control.py` for the
`/_test/` API and `StripeServer` for the same controls in-process. Not modelled: fees, customers,
prices/products as objects, disputes, payouts, `Stripe-Account` requests.

In tests (fixtures `stripe_server` and `stripe_client`, from `fixtures.py`):

    stripe_server.set_endpoint(url_or_callable, secret)   # where events go; nothing is sent before
    stripe_server.hold("checkout.session.completed")      # or hold() / drop() / deliver(copies=2)
    stripe_server.pay(session_id)                          # what the Pay button does
    stripe_server.release("shuffle", seed=1, inline=True) # send what was held, in this thread
    stripe_server.drain()                                  # wait for background deliveries
    stripe_server.advance(3600)                            # the clock: due sessions expire
    body, headers = stripe_server.webhook_request(event_id, timestamp=old)  # post it yourself
"""

from .events import sign
from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeServer, create_app
from .state import StripeError

__all__ = ["DEFAULT_API_KEY", "DEFAULT_WEBHOOK_SECRET", "StripeError", "StripeServer", "create_app", "sign"]
