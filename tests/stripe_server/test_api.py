"""What every endpoint shares: keys, Stripe's error shape, idempotency, lists, `expand[]`, nested parameters."""

import pytest
import requests
import stripe
from werkzeug.datastructures import MultiDict

from .forms import parse_params
from .helpers import paid_session, session_params
from .state import StripeError


def test_nested_form_fields_become_dicts_and_lists():
    fields = MultiDict([("line_items[0][price_data][unit_amount]", "100"), ("line_items[0][quantity]", "2"),
                        ("line_items[1][quantity]", "1"), ("expand[]", "a"), ("expand[]", "b.c"),
                        ("metadata[order]", "ORD-1"), ("mode", "payment")])  # fmt: skip
    assert parse_params(fields) == {
        "line_items": [{"price_data": {"unit_amount": "100"}, "quantity": "2"}, {"quantity": "1"}],
        "expand": ["a", "b.c"], "metadata": {"order": "ORD-1"}, "mode": "payment",
    }  # fmt: skip
    with pytest.raises(StripeError):
        parse_params(MultiDict([("a", "1"), ("a[b]", "2")]))


def test_requests_need_the_secret_key(stripe_server):
    url = f"{stripe_server.url}/v1/checkout/sessions"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in missing.json()["error"]["message"]
    wrong = requests.get(url, headers={"Authorization": "Bearer sk_test_wrong_key_1234"}, timeout=5)
    assert wrong.status_code == 401 and "Invalid API Key provided: sk_test_" in wrong.json()["error"]["message"]
    assert "wrong_key" not in wrong.text
    assert requests.get(url, auth=(stripe_server.api_key, ""), timeout=5).status_code == 200
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_other", base_addresses={"api": stripe_server.url}).v1.accounts.list()


def test_unknown_ids_and_urls_are_404_in_stripes_shape(stripe_server, stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.payment_intents.retrieve("pi_nothing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert missing.value.user_message == "No such payment_intent: 'pi_nothing'"
    answer = requests.get(f"{stripe_server.url}/v1/invoices", auth=(stripe_server.api_key, ""), timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/invoices)")
    assert answer.headers["Request-Id"].startswith("req_")


def test_an_idempotency_key_replays_the_first_answer(stripe_server, stripe_client):
    session = paid_session(stripe_server, stripe_client)
    options = {"idempotency_key": "refund-ORD-1"}
    first = stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent.id, "amount": 100},
                                            options=options)  # fmt: skip
    again = stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent.id, "amount": 100},
                                            options=options)  # fmt: skip
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_client.v1.refunds.list().data) == 1
    assert stripe_client.v1.charges.retrieve(session.payment_intent.latest_charge).amount_refunded == 100
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent.id, "amount": 200},
                                        options=options)  # fmt: skip


def test_a_refused_request_saves_no_idempotent_answer(stripe_client):
    options = {"idempotency_key": "session-ORD-1"}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.create(params=session_params(expires_at=1), options=options)
    assert stripe_client.v1.checkout.sessions.list().data == []
    created = stripe_client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert [s.id for s in stripe_client.v1.checkout.sessions.list().data] == [created.id]


def test_lists_page_newest_first_with_cursors(stripe_client):
    created = [stripe_client.v1.checkout.sessions.create(params=session_params()).id for _ in range(5)]
    first = stripe_client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in first.data] == created[::-1][:2] and first.has_more
    second = stripe_client.v1.checkout.sessions.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [s.id for s in second.data] == created[::-1][2:4] and second.has_more
    back = stripe_client.v1.checkout.sessions.list(params={"limit": 2, "ending_before": second.data[0].id})
    assert [s.id for s in back.data] == [s.id for s in first.data]
    assert [s.id for s in stripe_client.v1.checkout.sessions.list(params={"limit": 2}).auto_paging_iter()] == \
        created[::-1]  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.list(params={"limit": 101})
    assert refused.value.param == "limit"


def test_expand_replaces_ids_with_objects_and_refuses_unknown_paths(stripe_server, stripe_client):
    session = paid_session(stripe_server, stripe_client)
    deep = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert deep.payment_intent.latest_charge.object == "charge"
    listed = stripe_client.v1.checkout.sessions.list(params={"expand": ["data.payment_intent"]})
    assert listed.data[0].payment_intent.id == session.payment_intent.id
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["nothing"]})
    assert refused.value.param == "expand"


def test_requests_on_behalf_of_a_connected_account_are_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError, match="Stripe-Account") as refused:
        stripe_client.v1.accounts.list(options={"stripe_account": "acct_seller"})
    assert refused.value.http_status == 400
