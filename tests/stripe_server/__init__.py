"""A small stateful Stripe-compatible HTTP server for tests and the demo (Stripe itself is not reachable).

The real `stripe` client talks to it (`StripeServer.client()`, or `stripe.StripeClient(key,
base_addresses={"api": server.url})`). It keeps Checkout Sessions, PaymentIntents, Charges, Refunds,
Accounts, Account Links, Transfers and Events in memory, serves the hosted checkout and onboarding
pages, and posts each event to one webhook endpoint signed like Stripe. See `control.py` for the
`/_test/` API and `StripeServer` for the same controls in-process. Not modelled: fees, customers,
prices/products as objects, disputes, payouts, `Stripe-Account` requests.
"""

from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeServer, create_app
from .state import StripeError

__all__ = ["DEFAULT_API_KEY", "DEFAULT_WEBHOOK_SECRET", "StripeError", "StripeServer", "create_app"]
