"""PaymentIntents, Charges and Refunds through the real stripe client."""

import threading

import pytest
import stripe

from .helpers import paid_session


def test_refund_part_then_the_rest_by_payment_intent_or_charge(stripe_server, stripe_client):
    session = paid_session(stripe_server, stripe_client)
    intent = session.payment_intent
    part = stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 4690,
                                                   "reason": "requested_by_customer", "metadata": {"order": "ORD-1"}})
    assert part.id.startswith("re_") and (part.amount, part.status, part.charge) == (4690, "succeeded",
                                                                                     intent.latest_charge)
    assert part.metadata.to_dict() == {"order": "ORD-1"}
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (4690, False)
    rest = stripe_client.v1.refunds.create(params={"charge": intent.latest_charge})
    assert rest.amount == 20000 and rest.payment_intent == intent.id
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (24690, True)
    assert stripe_client.v1.refunds.retrieve(part.id).amount == 4690
    listed = stripe_client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in listed.data] == [rest.id, part.id]


def test_refunds_beyond_the_charge_are_refused(stripe_server, stripe_client):
    intent = paid_session(stripe_server, stripe_client).payment_intent
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 24691})
    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
    stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.refunds.create(params={"amount": 1})
    assert missing.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.refunds.create(params={"payment_intent": "pi_unknown"})
    assert (unknown.value.http_status, unknown.value.param) == (400, "payment_intent")
    assert len(stripe_client.v1.refunds.list().data) == 1


def test_payment_intents_and_charges_list_newest_first(stripe_server, stripe_client):
    first = paid_session(stripe_server, stripe_client).payment_intent
    second = paid_session(stripe_server, stripe_client).payment_intent
    assert [pi.id for pi in stripe_client.v1.payment_intents.list().data] == [second.id, first.id]
    charges = stripe_client.v1.charges.list(params={"payment_intent": first.id}).data
    assert [c.id for c in charges] == [first.latest_charge]


def test_concurrent_refunds_never_exceed_the_charge(stripe_server, stripe_client):
    intent = paid_session(stripe_server, stripe_client).payment_intent
    outcomes = []

    def refund():
        try:
            outcomes.append(stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 10000}).id)
        except stripe.InvalidRequestError as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcome for outcome in outcomes if not outcome.startswith("re_")) == ["amount_too_large"] * 6
    assert stripe_client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 20000
