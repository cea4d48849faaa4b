"""A held order paid through Stripe Checkout: the session, the webhook, the ledger (real stripe client, test server)."""

import random
import time
from datetime import datetime

import pytest

from marketplace.metrics import WEBHOOK_EVENTS

from ..factories import bearer, make_listing
from .conftest import COMMISSION_BPS, deliver, events_of
from .helpers import assert_balanced, entries, order_row, payment_row, place, stored_events, sums


@pytest.fixture
def listing(db_session, seller):
    return make_listing(db_session, seller, quantity=2)


@pytest.fixture
def buyer_auth(db_session, buyer):
    return bearer(db_session, buyer)


def paid(client, stripe, db_session, listing, auth, **kw) -> str:
    """An order held, paid on the Checkout page and reported by the completed event: its code."""
    order = place(client, listing, auth, **kw)
    stripe.pay(payment_row(db_session, order["code"]).session_id)
    event = events_of(stripe, payment_row(db_session, order["code"]).session_id, "checkout.session.completed")[-1]
    assert deliver(client, stripe, event).status_code == 200
    return order["code"]


def test_a_held_order_gets_a_checkout_session_for_its_total_lapsing_with_the_hold(client, db_session, stripe,
                                                                                   listing, buyer_auth):  # fmt: skip
    order = place(client, listing, buyer_auth)
    assert order["payment"]["provider"] == "stripe" and order["payment"]["status"] == "awaiting"
    session = stripe.client().v1.checkout.sessions.retrieve(payment_row(db_session, order["code"]).session_id)
    assert order["payment"]["url"] == session.url and session.url.startswith(stripe.url)
    assert session.client_reference_id == order["code"] and session.amount_total == order["total"]
    assert session.currency == "cny" and set(session.payment_method_types) == {"card", "alipay", "wechat_pay"}
    hold = datetime.fromisoformat(order["hold_expires_at"])
    assert session.expires_at == int(hold.timestamp())
    assert hold.timestamp() - time.time() >= 31 * 60 - 5  # Stripe wants 30 min at least: the hold lasts 31


def test_paying_confirms_the_order_and_enters_charge_commission_and_share(client, db_session, stripe, listing,
                                                                         buyer_auth):  # fmt: skip
    before = WEBHOOK_EVENTS.labels("checkout.session.completed")._value.get()
    code = paid(client, stripe, db_session, listing, buyer_auth)
    order = order_row(db_session, code)
    assert order.status == "confirmed" and order.payment_status == "paid" and order.hold_expires_at is None
    money = sums(db_session, code)
    commission = (order.total * COMMISSION_BPS + 5000) // 10000
    assert money["charge"] == order.total and money["commission"] == commission
    assert money["seller_share"] == order.total - commission
    assert payment_row(db_session, code).charge_id == entries(db_session, code, "charge")[0].reference
    assert WEBHOOK_EVENTS.labels("checkout.session.completed")._value.get() == before + 1
    assert_balanced(db_session)


@pytest.mark.parametrize("how", ["wrong secret", "stale", "no header"])
def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(client, db_session, stripe, listing, buyer_auth,
                                                                 how):  # fmt: skip
    order = place(client, listing, buyer_auth)
    stripe.pay(payment_row(db_session, order["code"]).session_id)
    event = events_of(stripe, payment_row(db_session, order["code"]).session_id, "checkout.session.completed")[-1]
    if how == "wrong secret":
        response = deliver(client, stripe, event, secret="whsec_somebody_else")
    elif how == "stale":
        response = deliver(client, stripe, event, timestamp=int(time.time()) - 301)
    else:
        response = client.post("/payments/stripe/webhook", json=event)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "bad_signature"
    assert order_row(db_session, order["code"]).status == "held" and stored_events(db_session) == 0
    assert sums(db_session, order["code"])["charge"] == 0


def test_the_same_event_five_times_has_one_effect(client, db_session, stripe, listing, buyer_auth):
    order = place(client, listing, buyer_auth)
    stripe.pay(payment_row(db_session, order["code"]).session_id)
    event = events_of(stripe, payment_row(db_session, order["code"]).session_id, "checkout.session.completed")[-1]
    answers = [deliver(client, stripe, event) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.get_json()["status"] for a in answers] == ["applied"] + ["duplicate"] * 4
    assert len(entries(db_session, order["code"], "charge")) == 1 and stored_events(db_session) == 1
    assert order_row(db_session, order["code"]).status == "confirmed"
    assert_balanced(db_session)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_completed_expired_and_refunded_in_any_order_end_the_same(client, db_session, stripe, seller, buyer_auth,
                                                                  seed):  # fmt: skip
    """Three orders: one paid, one paid then refunded at Stripe, one whose page lapsed; events shuffled."""
    listing = make_listing(db_session, seller, quantity=3)
    kept, refunded, lapsed = (place(client, listing, buyer_auth)["code"] for _ in range(3))
    sessions = {code: payment_row(db_session, code).session_id for code in (kept, refunded, lapsed)}
    stripe.pay(sessions[kept])
    stripe.pay(sessions[refunded])
    stripe.expire(sessions[lapsed])
    api = stripe.client()
    charge = api.v1.payment_intents.retrieve(api.v1.checkout.sessions.retrieve(sessions[refunded]).payment_intent)
    api.v1.refunds.create({"charge": charge.latest_charge})
    events = [e for s in sessions.values() for e in events_of(stripe, s)]
    events += events_of(stripe, charge.latest_charge, "charge.refunded")
    assert {e["type"] for e in events} >= {"checkout.session.completed", "checkout.session.expired", "charge.refunded"}
    random.Random(seed).shuffle(events)
    for event in events:
        assert deliver(client, stripe, event).status_code == 200
    assert (order_row(db_session, kept).status, order_row(db_session, kept).payment_status) == ("confirmed", "paid")
    assert (order_row(db_session, refunded).status, order_row(db_session, refunded).payment_status) == (
        "refunded", "refunded")
    assert (order_row(db_session, lapsed).status, order_row(db_session, lapsed).payment_status) == ("expired", "none")
    assert sums(db_session, refunded)["commission"] == 0 and sums(db_session, refunded)["seller_share"] == 0
    assert_balanced(db_session)


@pytest.mark.parametrize(
    "body",
    [[1, 2], "x", {"type": "x", "data": {"object": {}}}, {"id": "evt_1", "type": {"a": 1}, "data": {"object": {}}},
     {"id": "evt_2", "type": "charge.refunded", "data": "s"},
     {"id": "evt_3", "type": "charge.refunded", "data": {"object": {"object": "charge", "payment_intent": 5}}},
     {"id": "evt_4", "type": "charge.refunded", "data": {"object": {"object": "charge", "payment_intent": ["a"]}}},
     {"id": "evt_5", "type": "checkout.session.completed", "data": {"object": {"object": "checkout.session"}}},
     {"id": "evt_6", "type": "account.updated", "data": {"object": {"object": "account", "id": {"x": 1}}}}],
)  # fmt: skip
def test_a_signed_body_that_is_not_an_event_is_refused_with_400(client, db_session, stripe, body):
    response = deliver(client, stripe, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["reason"] == "not_an_event" and stored_events(db_session) == 0


def test_an_update_of_an_account_stripe_does_not_know_is_ignored_not_retried(client, db_session, stripe):
    event = {"id": "evt_acct", "type": "account.updated", "data": {"object": {"object": "account", "id": "acct_nope"}}}
    response = deliver(client, stripe, event)
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"
