"""The server as a whole: the Flask app, and a runner that serves it from a thread on a real port."""

import threading

import stripe
from werkzeug.serving import WSGIRequestHandler, make_server

from . import api, checkout, connect, control, events, payments
from .state import Store, StripeError, public

DEFAULT_API_KEY = "sk_test_local"
DEFAULT_WEBHOOK_SECRET = "whsec_local"


def create_app(state: Store, webhooks: events.Webhooks) -> api.LockedFlask:
    """The WSGI app over `state`, sending events through `webhooks`."""
    app = api.LockedFlask(__name__)
    app.extensions["stripe_store"] = state
    app.extensions["stripe_webhooks"] = webhooks
    api.install(app)
    for module in (checkout, payments, connect, events, control):
        app.register_blueprint(module.blueprint)
    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # tests read deliveries and events, not access logs
        pass


class StripeServer:
    """A Stripe-compatible server on 127.0.0.1:`port` (0: any free port), with the controls tests need."""

    def __init__(self, *, api_key=DEFAULT_API_KEY, webhook_url=None, webhook_secret=DEFAULT_WEBHOOK_SECRET,
                 host="127.0.0.1", port=0, public_url=None, retry_delays=(0.2, 0.5, 1.0, 2.0), quiet=True):  # fmt: skip
        self.state = Store(api_key=api_key)
        self.webhooks = events.Webhooks(self.state, webhook_url, webhook_secret, retry_delays)
        self.app = create_app(self.state, self.webhooks)
        self.http = make_server(host, port, self.app, threaded=True,
                                request_handler=_QuietHandler if quiet else WSGIRequestHandler)
        self.url = f"http://{host}:{self.http.server_port}"
        self.state.public_url = public_url or self.url  # where browsers reach the hosted pages
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), name="stripe-server", daemon=True)

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def start(self) -> "StripeServer":
        self.thread.start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        self.http.shutdown()
        self.http.server_close()

    def client(self, **options) -> stripe.StripeClient:
        """A real `stripe.StripeClient` pointed at this server."""
        return stripe.StripeClient(self.api_key, base_addresses={"api": self.url, "connect": self.url,
                                                                 "files": self.url}, **options)  # fmt: skip

    # What a buyer, a seller or Stripe itself would do, without a browser.
    def pay(self, session_id: str, method: str = "card") -> dict:
        """What the Pay button does: the session completes (its events follow)."""
        with self.state.lock:
            return public(checkout.complete_session(self.state, session_id, method))

    def decline(self, session_id: str, method: str = "card") -> None:
        """A declined attempt: the session stays open, its PaymentIntent waits (`payment_intent.payment_failed`)."""
        with self.state.lock:
            try:
                checkout.complete_session(self.state, session_id, method, declined=True)
            except StripeError as declined:
                if declined.code != "card_declined":
                    raise

    def expire(self, session_id: str) -> dict:
        with self.state.lock:
            return public(checkout.expire_session(self.state, session_id))

    def onboard(self, account_id: str) -> dict:
        with self.state.lock:
            return public(connect.onboard(self.state, account_id))

    def advance(self, seconds: int) -> list[str]:
        """Move the server's clock forward; sessions past `expires_at` expire. Their ids.

        Everything reads this clock, so a session created afterwards needs `expires_at` from `state.now()`.
        """
        with self.state.lock:
            self.state.offset += seconds
            return [session["id"] for session in checkout.expire_due(self.state)]

    # Webhook steering.
    def set_endpoint(self, endpoint, secret: str | None = None) -> None:
        """Send events to a URL, or to a callable `(payload, headers) -> status`."""
        with self.webhooks.condition:
            self.webhooks.endpoint = endpoint
            if secret is not None:
                self.webhooks.secret = secret

    def hold(self, *types: str) -> None:
        """Keep new events (of these types; all if none named) back until `release`."""
        self._mode("hold", types=types)

    def drop(self, *types: str) -> None:
        """Lose new events (of these types; all if none named): listed by the API, undelivered, until redelivered."""
        self._mode("drop", types=types)

    def deliver(self, copies: int = 1) -> None:
        """Send new events again (the default), each `copies` times."""
        self._mode("deliver", copies)

    def _mode(self, mode: str, copies: int = 1, types: tuple[str, ...] = ()) -> None:
        with self.webhooks.condition:
            self.webhooks.mode, self.webhooks.copies, self.webhooks.types = mode, copies, set(types) or None

    def release(self, order: str = "fifo", seed: int | None = None, copies: int = 1, inline: bool = False):
        """Send what was held, in `order`; `inline`: in this thread, returning the endpoint's answers."""
        return self.webhooks.release(order, seed, copies, inline)

    def send(self, event_id: str) -> int | str:
        """Send one event to the endpoint now, in this thread; its answer."""
        return self.webhooks.send(event_id)

    def webhook_request(self, event_id: str, *, timestamp: int | None = None, secret: str | None = None):
        """`(body, headers)` of the POST Stripe would send for an event, to post yourself (e.g. a stale signature)."""
        return self.webhooks.signed(self.state.get("event", event_id), timestamp, secret)

    def redeliver(self, event_id: str, copies: int = 1):
        return self.webhooks.redeliver(event_id, copies)

    def send_concurrently(self, event_id: str, copies: int = 5) -> list:
        return self.webhooks.send_concurrently(event_id, copies)

    def drain(self, timeout: float = 10.0) -> bool:
        return self.webhooks.drain(timeout)

    def deliveries(self, **wanted) -> list[dict]:
        rows = [delivery.as_dict() for delivery in list(self.webhooks.deliveries)]
        return [row for row in rows if all(row[key] == value for key, value in wanted.items())]

    def events(self, event_type: str | None = None, object_id: str | None = None) -> list[dict]:
        """The events so far (of a type, about one object), oldest first."""

        def wanted(event):
            return event_type in (None, event["type"]) and object_id in (None, event["data"]["object"].get("id"))

        with self.state.lock:
            found = self.state.all("event", wanted)
            return [public(event) for event in reversed(found)]
