"""Events and their webhooks: signed like Stripe, and steerable (held, shuffled, dropped, duplicated, retried)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from .helpers import paid_session, session_params
from .server import StripeServer

COMPLETED = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


class Receiver:
    """An HTTP endpoint on a real port that records what it receives and answers `status`."""

    def __init__(self):
        self.received, self.status = [], 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, dict(self.headers)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/payments/stripe/webhook"
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for body, _headers in self.received]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.http.shutdown()
    receiver.http.server_close()


def recorder(calls: list, answers=()):
    """A callable endpoint recording `(event type, headers)`; answers from `answers`, then 200."""
    answers = list(answers)

    def endpoint(payload, headers):
        calls.append((json.loads(payload)["type"], headers, payload))
        return answers.pop(0) if answers else 200

    return endpoint


def test_events_reach_the_endpoint_signed_so_the_stripe_library_verifies_them(stripe_server, stripe_client, receiver):
    stripe_server.set_endpoint(receiver.url, "whsec_node")
    paid_session(stripe_server, stripe_client)
    assert stripe_server.drain()
    assert receiver.types() == COMPLETED
    body, headers = receiver.received[-1]
    event = stripe_client.construct_event(body, headers["Stripe-Signature"], "whsec_node")
    assert event.type == "checkout.session.completed" and event.data.object.client_reference_id == "ORD-1"
    assert event.id == stripe_client.v1.events.list(params={"limit": 1}).data[0].id
    assert stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], "whsec_node").id == event.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe_client.construct_event(body, headers["Stripe-Signature"], "whsec_other")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe_client.construct_event(body.replace(b"ORD-1", b"ORD-2"), headers["Stripe-Signature"], "whsec_node")
    assert all(row["status"] == "delivered" for row in stripe_server.deliveries())


def test_events_list_by_type_and_created(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_server.pay(session.id)
    later = int(time.time()) + 7200
    stripe_server.advance(7200)
    expiring = stripe_client.v1.checkout.sessions.create(params=session_params(expires_at=later + 1800))
    stripe_client.v1.checkout.sessions.expire(expiring.id)
    completed = stripe_client.v1.events.list(params={"type": "checkout.session.completed"}).data
    assert [e.data.object.id for e in completed] == [session.id]
    recent = stripe_client.v1.events.list(params={"created": {"gte": later}}).data
    assert [e.type for e in recent] == ["checkout.session.expired"]
    both = stripe_client.v1.events.list(params={"types": ["checkout.session.*"]}).data
    assert [e.type for e in both] == ["checkout.session.expired", "checkout.session.completed"]
    assert stripe_client.v1.events.retrieve(completed[0].id).type == "checkout.session.completed"


def test_held_events_are_released_in_the_order_asked(stripe_server, stripe_client):
    calls = []
    stripe_server.set_endpoint(recorder(calls))
    stripe_server.hold()
    paid_session(stripe_server, stripe_client)
    assert stripe_server.drain() and calls == []
    assert {row["status"] for row in stripe_server.deliveries()} == {"held"}
    stripe_server.release("reverse")
    assert stripe_server.drain()
    assert [kind for kind, _h, _p in calls] == COMPLETED[::-1]


def test_shuffled_release_is_a_permutation_fixed_by_its_seed():
    orders = []
    for _ in range(2):
        calls = []
        server = StripeServer(webhook_url=recorder(calls)).start()
        try:
            server.hold()
            paid_session(server, server.client())
            server.release("shuffle", seed=7)
            assert server.drain()
        finally:
            server.stop()
        orders.append([kind for kind, _h, _p in calls])
    assert orders[0] == orders[1] and sorted(orders[0]) == sorted(COMPLETED) and orders[0] != COMPLETED


def test_dropped_events_are_sent_only_when_redelivered(stripe_server, stripe_client):
    calls = []
    stripe_server.set_endpoint(recorder(calls))
    stripe_server.drop()
    paid_session(stripe_server, stripe_client)
    assert stripe_server.drain() and calls == []
    [completed] = stripe_server.events("checkout.session.completed")
    assert stripe_server.events(object_id=completed["data"]["object"]["id"]) == [completed]
    stripe_server.redeliver(completed["id"], copies=2)
    assert stripe_server.drain()
    assert [kind for kind, _h, _p in calls] == ["checkout.session.completed"] * 2
    assert calls[0][2] == calls[1][2]  # the same event, byte for byte


def test_copies_duplicate_every_new_event(stripe_server, stripe_client):
    calls = []
    stripe_server.set_endpoint(recorder(calls))
    stripe_server.deliver(copies=3)
    paid_session(stripe_server, stripe_client)
    assert stripe_server.drain()
    assert sorted(kind for kind, _h, _p in calls) == sorted(COMPLETED * 3)


def test_failed_deliveries_are_retried_then_given_up():
    calls = []
    server = StripeServer(webhook_url=recorder(calls, answers=[500, 503]), retry_delays=(0.05, 0.05)).start()
    try:
        session = server.client().v1.checkout.sessions.create(params=session_params())
        server.expire(session.id)
        assert server.drain()
        [delivery] = server.deliveries()
        assert delivery["status"] == "delivered" and [a["result"] for a in delivery["attempts"]] == [500, 503, 200]
        server.set_endpoint("http://127.0.0.1:9/nothing-listens")
        server.redeliver(delivery["event"])
        assert server.drain()
        failed = server.deliveries(status="failed")
        assert len(failed) == 1 and len(failed[0]["attempts"]) == 3
    finally:
        server.stop()


def test_one_event_sent_concurrently(stripe_server, stripe_client):
    together = threading.Barrier(5, timeout=10)  # passes only if all five deliveries are inside at once

    def endpoint(payload, headers):
        together.wait()
        return 200

    stripe_server.set_endpoint(endpoint)
    stripe_server.drop()
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_server.expire(session.id)
    [event] = stripe_server.events()
    assert stripe_server.send_concurrently(event["id"], copies=5) == [200] * 5


def test_the_control_api_over_http(stripe_server, stripe_client, receiver):
    control = f"{stripe_server.url}/_test"
    configured = requests.post(f"{control}/webhooks", json={"endpoint": receiver.url, "mode": "hold", "types": []},
                               timeout=5).json()  # fmt: skip
    assert configured == {"mode": "hold", "types": [], "copies": 1, "endpoint": receiver.url}
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    paid = requests.post(f"{control}/checkout/sessions/{session.id}/pay", json={"method": "wechat_pay"}, timeout=5)
    assert paid.json()["status"] == "complete"
    held = requests.get(f"{control}/deliveries", params={"status": "held"}, timeout=5).json()["deliveries"]
    assert [row["type"] for row in held] == COMPLETED
    requests.post(f"{control}/webhooks/release", json={"order": "reverse", "copies": 2}, timeout=5)
    assert requests.post(f"{control}/webhooks/drain", json={}, timeout=5).json() == {"drained": True}
    assert receiver.types() == [kind for kind in COMPLETED[::-1] for _ in range(2)]
    event_id = held[-1]["event"]
    results = requests.post(f"{control}/events/{event_id}/redeliver", json={"copies": 3, "concurrent": True},
                            timeout=10).json()["results"]  # fmt: skip
    assert results == [200, 200, 200]
    other = stripe_client.v1.checkout.sessions.create(params=session_params())
    clock = requests.post(f"{control}/clock/advance", json={"seconds": 3600}, timeout=5).json()
    assert clock["expired"] == [other.id] and clock["offset"] == 3600
    bad = requests.post(f"{control}/webhooks", json={"mode": "sometimes"}, timeout=5)
    assert bad.status_code == 400


def test_inline_release_and_send_run_in_the_callers_thread(stripe_server, stripe_client):
    threads = []

    def endpoint(payload, headers):
        threads.append(threading.current_thread())
        return 409 if json.loads(payload)["type"] == "charge.succeeded" else 200

    stripe_server.set_endpoint(endpoint)
    stripe_server.hold()
    paid_session(stripe_server, stripe_client)
    assert stripe_server.release("fifo", inline=True) == [200, 409, 200, 200]
    assert threads == [threading.current_thread()] * 4
    [completed] = stripe_server.events("checkout.session.completed")
    assert stripe_server.send(completed["id"]) == 200
    assert [row["status"] for row in stripe_server.deliveries(event=completed["id"])] == ["released", "delivered",
                                                                                          "delivered"]  # fmt: skip
    assert len(stripe_server.deliveries(status="failed")) == 1


def test_a_webhook_request_to_post_yourself_even_stale(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params(),
                                                        options={"idempotency_key": "create-ORD-1"})  # fmt: skip
    stripe_client.v1.checkout.sessions.expire(session.id)
    [created_for] = [e for e in stripe_server.events() if e["type"] == "checkout.session.expired"]
    assert created_for["request"]["id"].startswith("req_") and created_for["request"]["idempotency_key"]
    body, headers = stripe_server.webhook_request(created_for["id"])
    assert stripe_client.construct_event(body, headers["Stripe-Signature"], stripe_server.webhook_secret).id == \
        created_for["id"]  # fmt: skip
    body, headers = stripe_server.webhook_request(created_for["id"], timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe_client.construct_event(body, headers["Stripe-Signature"], stripe_server.webhook_secret)
    paid = paid_session(stripe_server, stripe_client)
    assert stripe_server.events("checkout.session.completed")[0]["request"] == {"id": None, "idempotency_key": None}
    assert paid.status == "complete"


def test_events_not_delivered_are_listed_as_such(stripe_server, stripe_client):
    calls = []
    stripe_server.set_endpoint(recorder(calls, answers=[500]))
    stripe_server.webhooks.retry_delays = ()  # one attempt: the first event fails for good
    stripe_server.drop()
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)  # dropped
    stripe_server.deliver()
    other = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(other.id)  # answered 500
    third = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(third.id)  # delivered
    assert stripe_server.drain()
    failed = stripe_client.v1.events.list(params={"delivery_success": False}).data
    assert [e.data.object.id for e in failed] == [other.id, session.id]
    assert all(e.pending_webhooks == 1 for e in failed)
    delivered = stripe_client.v1.events.list(params={"delivery_success": True}).data
    assert [e.data.object.id for e in delivered] == [third.id]
    stripe_server.send(failed[1].id)
    assert stripe_client.v1.events.retrieve(failed[1].id).pending_webhooks == 0


def test_only_the_named_types_are_held(stripe_server, stripe_client):
    calls = []
    stripe_server.set_endpoint(recorder(calls))
    stripe_server.hold("checkout.session.completed")
    paid_session(stripe_server, stripe_client)
    assert stripe_server.drain()
    assert [kind for kind, _h, _p in calls] == COMPLETED[:-1]
    assert [row["type"] for row in stripe_server.deliveries(status="held")] == ["checkout.session.completed"]
    stripe_server.release()
    assert stripe_server.drain() and calls[-1][0] == "checkout.session.completed"
