"""Checkout Sessions through the real stripe client, and the hosted checkout page."""

import time

import pytest
import requests
import stripe

from .helpers import paid_session, session_params
from .state import StripeError


def test_create_retrieve_and_list_a_session(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert (session.amount_total, session.currency, session.client_reference_id) == (24690, "cny", "ORD-1")
    assert session.payment_method_types == ["card", "alipay", "wechat_pay"]
    assert session.url == f"{stripe_server.url}/c/pay/{session.id}"
    again = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert again.to_dict() == session.to_dict()
    assert "line_items" not in again
    expanded = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    [item] = expanded.line_items.data
    assert (item.description, item.quantity, item.amount_total) == ("GPU hours", 2, 24690)
    assert item.price.unit_amount == 12345


def test_paying_completes_the_session_with_a_payment_intent_and_charge(stripe_server, stripe_client):
    session = paid_session(stripe_server, stripe_client)
    assert (session.status, session.payment_status, session.url) == ("complete", "paid", None)
    intent = session.payment_intent
    assert intent.id.startswith("pi_") and intent.status == "succeeded"
    assert (intent.amount, intent.amount_received, intent.currency) == (24690, 24690, "cny")
    assert intent.metadata.to_dict() == {"order": "ORD-1"}
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.paid, charge.captured, charge.amount, charge.payment_intent) == (True, True, 24690, intent.id)
    found = stripe_client.v1.checkout.sessions.list(params={"payment_intent": intent.id})
    assert [s.id for s in found.data] == [session.id]


@pytest.mark.parametrize(("offset", "message"), [
    (29 * 60, "at least 30 minutes"),
    (24 * 3600 + 60, "less than 24 hours"),
])  # fmt: skip
def test_expires_at_must_be_30_minutes_to_24_hours_ahead(stripe_client, offset, message):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + offset))
    assert refused.value.http_status == 400
    assert refused.value.param == "expires_at" and message in refused.value.user_message
    assert stripe_client.v1.checkout.sessions.list().data == []


@pytest.mark.parametrize(("overrides", "param"), [
    ({"mode": None}, "mode"),
    ({"line_items": None}, "line_items"),
    ({"line_items": [{"price_data": {"currency": "cny", "unit_amount": 100, "product_data": {"name": "x"}}}]},
     "line_items[0][quantity]"),
    ({"line_items": [{"price_data": {"currency": "cny", "unit_amount": "ten", "product_data": {"name": "x"}},
                      "quantity": 1}]}, "line_items[0][price_data][unit_amount]"),
    ({"payment_method_types": ["paypal"]}, "payment_method_types[0]"),
    ({"payment_method_options": None}, "payment_method_options[wechat_pay][client]"),
    ({"colour": "red"}, "colour"),
    ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]"),
])  # fmt: skip
def test_bad_parameters_are_named(stripe_client, overrides, param):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params={**session_params(), **overrides})
    assert (refused.value.http_status, refused.value.param) == (400, param)
    assert refused.value.error.type == "invalid_request_error"


def test_expire_only_an_open_session(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError, match="status of \"expired\""):
        stripe_client.v1.checkout.sessions.expire(session.id)
    with pytest.raises(StripeError, match="no longer active"):
        stripe_server.pay(session.id)
    paid = paid_session(stripe_server, stripe_client)
    with pytest.raises(stripe.InvalidRequestError, match="status of \"complete\""):
        stripe_client.v1.checkout.sessions.expire(paid.id)


def test_sessions_expire_when_the_clock_passes_expires_at(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    assert stripe_server.advance(3599) == []
    assert stripe_server.advance(1) == [session.id]
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert [e["type"] for e in stripe_server.events()] == ["checkout.session.expired"]


def test_hosted_page_shows_yuan_and_pays_then_redirects(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    assert "¥246.90" in page.text and ">Pay</button>" in page.text
    assert 'href="http://node.test/orders/ORD-1"' in page.text
    paid = requests.post(session.url, data={"method": "alipay"}, allow_redirects=False, timeout=5)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"http://node.test/orders/ORD-1/paid?session={session.id}"
    expand = {"expand": ["payment_intent.latest_charge"]}
    session = stripe_client.v1.checkout.sessions.retrieve(session.id, params=expand)
    assert session.status == "complete"
    assert session.payment_intent.latest_charge.payment_method_details.type == "alipay"
    assert ">Pay</button>" not in requests.get(session.url or f"{stripe_server.url}/c/pay/{session.id}", timeout=5).text


def test_hosted_page_of_an_expired_session_cannot_pay(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_client.v1.checkout.sessions.expire(session.id)
    answer = requests.post(session.url, data={"method": "card"}, allow_redirects=False, timeout=5)
    assert answer.status_code == 200 and "no longer active" in answer.text
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent is None


def test_a_declined_card_leaves_the_session_open_with_its_payment_intent(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_server.decline(session.id)
    session = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (session.status, session.payment_status) == ("open", "unpaid")
    intent = session.payment_intent
    assert intent.status == "requires_payment_method" and intent.last_payment_error.code == "card_declined"
    assert stripe_client.v1.charges.retrieve(intent.latest_charge).status == "failed"
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    page = requests.post(f"{stripe_server.url}/c/pay/{session.id}", data={"method": "card", "decline": "1"},
                         allow_redirects=False, timeout=5)  # fmt: skip
    assert page.status_code == 200 and "Your card was declined." in page.text
    stripe_server.pay(session.id)
    paid = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert (paid.status, paid.last_payment_error) == ("succeeded", None)
    assert [e["type"] for e in stripe_server.events(object_id=intent.id)] == [
        "payment_intent.created", "payment_intent.payment_failed", "payment_intent.payment_failed",
        "payment_intent.succeeded"]  # fmt: skip


def test_expiring_a_session_cancels_its_unpaid_payment_intent(stripe_server, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    stripe_server.decline(session.id, "wechat_pay")
    expired = stripe_client.v1.checkout.sessions.expire(session.id, params={"expand": ["payment_intent"]})
    assert expired.status == "expired" and expired.payment_intent.status == "canceled"
