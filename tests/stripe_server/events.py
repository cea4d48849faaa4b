"""Events: the `/v1/events` API, and their delivery to the webhook endpoint, signed as Stripe signs them."""

import hashlib
import hmac
import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from flask import Blueprint, current_app

from . import forms
from .api import created_filter, listing, params, respond, store
from .state import Store

blueprint = Blueprint("events", __name__)


def _with_pending(event: dict) -> dict:
    """The event with `pending_webhooks` as of now: 1 until a delivery to the endpoint succeeded."""
    return event | {"pending_webhooks": 0 if current_app.extensions["stripe_webhooks"].succeeded(event["id"]) else 1}


@blueprint.get("/v1/events/<event_id>")
def retrieve(event_id):
    params()
    return respond(_with_pending(store().get("event", event_id)))


@blueprint.get("/v1/events")
def list_events():
    query = params()
    forms.only(query, {"limit", "starting_after", "ending_before", "created", "type", "types",
                       "delivery_success"})  # fmt: skip
    types = set(query.get("types") or []) | ({query["type"]} if query.get("type") else set())

    def wanted(event):
        if not types:
            return True
        return any(event["type"] == t or (t.endswith(".*") and event["type"].startswith(t[:-1])) for t in types)

    delivered = forms.boolean(query, "delivery_success", None)
    events = [_with_pending(event) for event in store().all("event", lambda e: wanted(e) and created_filter(query)(e))]
    if delivered is not None:
        events = [event for event in events if (event["pending_webhooks"] == 0) == delivered]
    return listing(events, "/v1/events", query)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>" keyed by the secret>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Delivery:
    """One attempt series of one event to the endpoint (a duplicate is a second Delivery of the same event)."""

    id: int
    event_id: str
    type: str
    status: str  # queued, held, dropped, released (re-queued as new deliveries), sending, delivered, failed
    attempts: list = field(default_factory=list)  # (unix time, HTTP status or error text)
    due: float = 0.0

    def as_dict(self) -> dict:
        return {"id": self.id, "event": self.event_id, "type": self.type, "status": self.status,
                "attempts": [{"at": at, "result": result} for at, result in self.attempts]}  # fmt: skip


class Webhooks:
    """The outbox: queues each event for the endpoint, sends from a background thread, retries failures.

    `mode` decides what happens to new events: `deliver` (default), `hold` (kept until `release`), or `drop`
    (recorded and never sent unless redelivered); with `types` set, only events of those types are held or
    dropped, the others are delivered. `copies` sends each new event that many times.
    `endpoint` is a URL, or a callable `(payload: bytes, headers: dict) -> int` for an in-process app.
    """

    def __init__(self, state: Store, endpoint=None, secret: str = "", retry_delays=(0.2, 0.5, 1.0, 2.0)):
        self.state, self.endpoint, self.secret, self.retry_delays = state, endpoint, secret, tuple(retry_delays)
        self.mode, self.copies, self.types = "deliver", 1, None
        self.deliveries: list[Delivery] = []
        self.condition = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
        state.listeners.append(self.enqueue)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.condition:
            self.stopped = True
            self.condition.notify_all()
        if self.thread.is_alive():
            self.thread.join(5)

    def _add(self, event: dict, status: str) -> Delivery:
        delivery = Delivery(len(self.deliveries) + 1, event["id"], event["type"], status, due=time.monotonic())
        self.deliveries.append(delivery)
        return delivery

    def succeeded(self, event_id: str) -> bool:
        """Whether the event needs no more delivery: sent with a 2xx, or never meant for an endpoint."""
        mine = [d for d in list(self.deliveries) if d.event_id == event_id]
        return not mine or any(d.status == "delivered" for d in mine)

    def enqueue(self, event: dict) -> None:
        """Called for each new event: queue, hold or drop it, as `mode` says."""
        if self.endpoint is None:
            return
        with self.condition:
            mode = self.mode if self.types is None or event["type"] in self.types else "deliver"
            status = {"deliver": "queued", "hold": "held", "drop": "dropped"}[mode]
            for _ in range(self.copies):
                self._add(event, status)
            self.condition.notify_all()

    def release(self, order: str = "fifo", seed: int | None = None, copies: int = 1, inline: bool = False) -> list:
        """Send the held deliveries in `order` (`fifo`, `reverse` or `shuffle`), each `copies` times.

        In the background thread (the new deliveries are returned), or with `inline` one after the other in
        the caller's thread, without retries (their results are returned): for an in-process endpoint.
        """
        with self.condition:
            held = [d for d in self.deliveries if d.status == "held"]
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                random.Random(seed).shuffle(held)
            elif order != "fifo":
                raise ValueError(f"order must be fifo, reverse or shuffle, not {order!r}")
            released = []
            for delivery in held:
                delivery.status = "released"  # replaced by copies, in the new order
                for _ in range(copies):
                    copy = self._add(self.state.objects[delivery.event_id], "sending" if inline else "queued")
                    copy.due = time.monotonic() + len(released) * 1e-6  # keep the chosen order
                    released.append(copy)
            self.condition.notify_all()
        if not inline:
            return released
        return [self._send_inline(delivery) for delivery in released]

    def send(self, event_id: str) -> int | str:
        """Send one event now, in the caller's thread, once; the endpoint's answer."""
        event = self.state.get("event", event_id)
        with self.condition:
            delivery = self._add(event, "sending")
        return self._send_inline(delivery)

    def _send_inline(self, delivery: Delivery) -> int | str:
        result = self._attempt(delivery, self.state.objects[delivery.event_id])
        with self.condition:
            delivery.status = "delivered" if _ok(result) else "failed"
            self.condition.notify_all()
        return result

    def redeliver(self, event_id: str, copies: int = 1) -> list[Delivery]:
        """Queue an event again (it may have been delivered, dropped or failed before)."""
        event = self.state.get("event", event_id)
        with self.condition:
            queued = [self._add(event, "queued") for _ in range(copies)]
            self.condition.notify_all()
            return queued

    def send_concurrently(self, event_id: str, copies: int = 5) -> list[int | str]:
        """Send one event `copies` times at the same moment from separate threads; their results."""
        event = self.state.get("event", event_id)
        barrier, results = threading.Barrier(copies), [None] * copies
        with self.condition:
            deliveries = [self._add(event, "sending") for _ in range(copies)]

        def send(index):
            barrier.wait()
            results[index] = self._attempt(deliveries[index], event)
            with self.condition:
                deliveries[index].status = "delivered" if _ok(results[index]) else "failed"
                self.condition.notify_all()

        threads = [threading.Thread(target=send, args=(index,)) for index in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return results

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or being sent (held and dropped deliveries wait for you); True if so."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while any(d.status in ("queued", "sending") for d in self.deliveries):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.condition.wait(min(left, 0.05))
        return True

    def _next(self) -> Delivery | None:
        queued = [d for d in self.deliveries if d.status == "queued"]
        return min(queued, key=lambda d: (d.due, d.id)) if queued else None

    def _run(self) -> None:
        while True:
            with self.condition:
                delivery = self._next()
                while not self.stopped and (delivery is None or delivery.due > time.monotonic()):
                    self.condition.wait(0.05 if delivery is None else max(delivery.due - time.monotonic(), 0.001))
                    delivery = self._next()
                if self.stopped:
                    return
                delivery.status = "sending"
            result = self._attempt(delivery, self.state.objects[delivery.event_id])
            with self.condition:
                if _ok(result):
                    delivery.status = "delivered"
                elif len(delivery.attempts) <= len(self.retry_delays):
                    delivery.status = "queued"
                    delivery.due = time.monotonic() + self.retry_delays[len(delivery.attempts) - 1]
                else:
                    delivery.status = "failed"
                self.condition.notify_all()

    def signed(self, event: dict, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, dict]:
        """The body and headers Stripe would POST for `event` (signed now, or at `timestamp`)."""
        payload = json.dumps(event, indent=2).encode()
        signature = sign(payload, self.secret if secret is None else secret, timestamp)
        return payload, {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature,
                         "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}  # fmt: skip

    def _attempt(self, delivery: Delivery, event: dict) -> int | str:
        payload, headers = self.signed(event)
        try:
            if callable(self.endpoint):
                result = self.endpoint(payload, headers)
            else:
                request = urllib.request.Request(self.endpoint, data=payload, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=10) as response:
                    result = response.status
        except urllib.error.HTTPError as error:
            result = error.code
        except Exception as error:  # a delivery that cannot connect is retried, as Stripe does
            result = f"{type(error).__name__}: {error}"
        delivery.attempts.append((time.time(), result))
        return result


def _ok(result) -> bool:
    return isinstance(result, int) and 200 <= result < 300
