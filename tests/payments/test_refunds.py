"""Money back: late payments refunded at once, refunds on cancel, partial refunds, transfers and their reversal."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.models import AuditEntry, SellerAccount
from marketplace.models.types import utcnow
from marketplace.payments.flows import transfer_shares
from marketplace.payments.sweep import transfer_due_shares
from marketplace.trading.services import expire_holds

from ..conftest import form_token, sign_in
from ..factories import bearer, make_listing, make_user
from .conftest import deliver, events_of
from .helpers import ORDERS, assert_balanced, entries, order_row, payment_row, place, sums
from .test_checkout import paid


@pytest.fixture
def listing(db_session, seller):
    return make_listing(db_session, seller, quantity=1)


@pytest.fixture
def buyer_auth(db_session, buyer):
    return bearer(db_session, buyer)


def refunds_at(stripe, charge_id: str) -> list[dict]:
    return stripe.state.all("refund", lambda r: r["charge"] == charge_id)


def test_a_late_payment_for_a_lapsed_hold_sold_again_is_refunded_and_the_new_buyer_keeps_the_units(
        client, db_session, stripe, listing, buyer_auth):  # fmt: skip
    first = place(client, listing, buyer_auth)
    session_id = payment_row(db_session, first["code"]).session_id
    lapsed = order_row(db_session, first["code"]).hold_expires_at + timedelta(seconds=1)
    assert [o.code for o in expire_holds(session=db_session, now=lapsed)] == [first["code"]]
    other = bearer(db_session, make_user(db_session, role="buyer", name="Zhao Min"))
    second = place(client, listing, other)  # the only unit, sold again
    stripe.pay(session_id)  # the first buyer pays the page still open in their browser
    event = events_of(stripe, session_id, "checkout.session.completed")[-1]
    assert deliver(client, stripe, event).status_code == 200
    late = order_row(db_session, first["code"])
    assert late.status == "expired" and late.payment_status == "refunded"
    charge_id = payment_row(db_session, first["code"]).charge_id
    assert [r["amount"] for r in refunds_at(stripe, charge_id)] == [first["total"]]
    assert order_row(db_session, second["code"]).status == "held"
    money = sums(db_session, first["code"])
    assert money["charge"] == money["refund"] == first["total"] and money["seller_share"] == 0
    assert deliver(client, stripe, event).get_json()["status"] == "duplicate"  # Stripe retries: nothing more
    assert len(refunds_at(stripe, charge_id)) == 1
    assert_balanced(db_session)


def test_paying_at_the_moment_of_cancelling_is_refunded_and_the_order_stays_cancelled(client, db_session, stripe,
                                                                                      listing, buyer_auth):  # fmt: skip
    order = place(client, listing, buyer_auth)
    session_id = payment_row(db_session, order["code"]).session_id
    stripe.pay(session_id)  # paid; the webhook has not arrived yet
    response = client.post(f"{ORDERS}/{order['code']}/cancel", json={"reason": "changed my mind"}, headers=buyer_auth)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    row = order_row(db_session, order["code"])
    assert row.status == "cancelled" and row.payment_status == "refunded"
    assert [r["amount"] for r in refunds_at(stripe, payment_row(db_session, order["code"]).charge_id)] == [
        order["total"]]
    assert_balanced(db_session)


def test_cancelling_a_held_order_expires_its_checkout_session(client, db_session, stripe, listing, buyer_auth):
    order = place(client, listing, buyer_auth)
    session_id = payment_row(db_session, order["code"]).session_id
    client.post(f"{ORDERS}/{order['code']}/cancel", json={"reason": ""}, headers=buyer_auth)
    assert stripe.client().v1.checkout.sessions.retrieve(session_id).status == "expired"
    event = events_of(stripe, session_id, "checkout.session.expired")[-1]
    assert deliver(client, stripe, event).status_code == 200
    assert order_row(db_session, order["code"]).status == "cancelled"  # stays as it is


def test_the_buyer_cancels_a_confirmed_order_in_time_and_gets_everything_back(client, db_session, stripe, listing,
                                                                               buyer_auth):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth, start=48)
    response = client.post(f"{ORDERS}/{code}/cancel", json={"reason": ""}, headers=buyer_auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "refunded"
    row = order_row(db_session, code)
    assert row.status == "refunded" and row.payment_status == "refunded"
    charge_id = payment_row(db_session, code).charge_id
    assert [r["amount"] for r in refunds_at(stripe, charge_id)] == [row.total]
    for event in events_of(stripe, charge_id, "charge.refunded"):  # Stripe's report changes nothing more
        assert deliver(client, stripe, event).status_code == 200
    assert len(entries(db_session, code, "refund")) == 1
    assert sums(db_session, code)["commission"] == 0
    assert_balanced(db_session)


def test_after_the_free_cancellation_only_the_seller_refunds_in_part_with_a_reason(client, db_session, stripe,
                                                                                   listing, buyer, buyer_auth,
                                                                                   seller):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth, start=2)  # starts within 24 hours
    refused = client.post(f"{ORDERS}/{code}/cancel", json={"reason": "too late?"}, headers=buyer_auth)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "invalid_transition"
    sign_in(client, buyer)
    token = form_token(client, f"/orders/{code}")
    client.post(f"/payments/orders/{code}/refund", data={"amount": "10", "reason": "x", "csrf_token": token})
    assert sums(db_session, code)["refund"] == 0  # the buyer refunds nothing
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, seller)
    token = form_token(client, f"/orders/{code}")
    no_reason = client.post(f"/payments/orders/{code}/refund", data={"amount": "10", "reason": "", "csrf_token": token})
    assert no_reason.status_code == 422 and sums(db_session, code)["refund"] == 0
    page = no_reason.get_data(as_text=True)  # the order page again: the reason beside the field, the amount kept
    assert 'id="refund_reason-error"' in page and 'name="amount" inputmode="decimal" required value="10"' in page
    too_much = client.post(f"/payments/orders/{code}/refund",
                           data={"amount": "100000", "reason": "all of it", "csrf_token": token})
    assert too_much.status_code == 422 and sums(db_session, code)["refund"] == 0
    assert re.search(r'id="refund_amount-error">At most ¥[\d,]+\.\d\d: what was paid', too_much.get_data(as_text=True))
    response = client.post(f"/payments/orders/{code}/refund",
                           data={"amount": "10.50", "reason": "started an hour late", "csrf_token": token})
    assert response.status_code == 302
    row = order_row(db_session, code)
    assert row.status == "confirmed" and sums(db_session, code)["refund"] == 1050
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "payment.refund")).one()
    assert (audit.actor, audit.object) == (seller.email, f"order:{code}")
    assert json.loads(audit.detail)["reason"] == "started an hour late"
    assert [r["amount"] for r in refunds_at(stripe, payment_row(db_session, code).charge_id)] == [1050]
    assert_balanced(db_session)


def test_the_share_is_transferred_after_the_start_and_taken_back_on_a_later_refund(client, db_session, stripe,
                                                                                    payments, listing, buyer_auth,
                                                                                    seller):  # fmt: skip
    account_id = payments.stripe.create_account(email=seller.email)
    stripe.onboard(account_id)
    db_session.add(SellerAccount(user_id=seller.id, stripe_account_id=account_id, payouts_enabled=True,
                                 details_submitted=True, updated_at=utcnow()))  # fmt: skip
    db_session.commit()  # the transfer commits its own work (the test's transaction still rolls it all back)
    code = paid(client, stripe, db_session, listing, buyer_auth, start=48)
    order = order_row(db_session, code)
    db_session.commit()  # as the worker's session would find it: nothing of its own pending
    assert transfer_shares(payments, db_session, now=order.starts_at - timedelta(minutes=1)) == []  # not yet
    changes = transfer_shares(payments, db_session, now=order.starts_at + timedelta(minutes=1))
    assert len(changes) == 1
    share = sums(db_session, code)["seller_share"]
    transfer = stripe.state.get("transfer", payment_row(db_session, code).transfer_id)
    assert transfer["amount"] == share and transfer["destination"] == account_id
    assert transfer["source_transaction"] == payment_row(db_session, code).charge_id
    assert sums(db_session, code)["transfer"] == share
    assert transfer_shares(payments, db_session, now=order.starts_at + timedelta(hours=1)) == []  # once
    operator = make_user(db_session, role="operator")
    sign_in(client, operator)
    token = form_token(client, f"/orders/{code}")
    response = client.post(f"/payments/orders/{code}/refund", data={
        "amount": f"{order.total / 100:.2f}", "reason": "machines never delivered", "csrf_token": token})
    assert response.status_code == 302
    assert "Refund recorded" in client.get(f"/orders/{code}").get_data(as_text=True)
    row = order_row(db_session, code)
    assert row.status == "refunded" and row.payment_status == "refunded"
    assert sums(db_session, code)["transfer"] == 0
    assert stripe.state.get("transfer", transfer["id"])["amount_reversed"] == share
    assert_balanced(db_session)


def test_invoice_payments_are_confirmed_by_the_seller_never_by_the_buyer(client, db_session, stripe, listing,
                                                                         buyer_auth, seller):  # fmt: skip
    order = place(client, listing, buyer_auth, payment_provider="invoice")
    assert order["payment"]["provider"] == "invoice" and order["payment"]["url"] is None
    refused = client.post(f"{ORDERS}/{order['code']}/confirm", json={"reference": "ICBC 123"}, headers=buyer_auth)
    assert refused.status_code == 403 and order_row(db_session, order["code"]).status == "held"
    assert sums(db_session, order["code"])["charge"] == 0
    response = client.post(f"{ORDERS}/{order['code']}/confirm", json={"reference": "ICBC 123"},
                           headers=bearer(db_session, seller))  # fmt: skip
    assert response.status_code == 200 and response.get_json()["status"] == "confirmed"
    money = sums(db_session, order["code"])
    assert money["charge"] == order["total"] and money["commission"] + money["seller_share"] == order["total"]
    assert_balanced(db_session)


def test_a_seller_confirming_a_bank_transfer_closes_the_checkout_page(client, db_session, stripe, listing,
                                                                      buyer_auth, seller):  # fmt: skip
    order = place(client, listing, buyer_auth)
    session_id = payment_row(db_session, order["code"]).session_id
    response = client.post(f"{ORDERS}/{order['code']}/confirm", json={"reference": "ICBC 9"},
                           headers=bearer(db_session, seller))  # fmt: skip
    assert response.status_code == 200 and response.get_json()["payment"]["provider"] == "invoice"
    assert stripe.client().v1.checkout.sessions.retrieve(session_id).status == "expired"
    assert db_session.scalars(select(SellerAccount)).all() == []


def test_paid_through_stripe_and_by_bank_transfer_the_stripe_money_goes_back(client, db_session, stripe, listing,
                                                                             buyer_auth, seller):  # fmt: skip
    order = place(client, listing, buyer_auth)
    stripe.pay(payment_row(db_session, order["code"]).session_id)  # its webhook has not arrived yet
    response = client.post(f"{ORDERS}/{order['code']}/confirm", json={"reference": "ICBC 77"},
                           headers=bearer(db_session, seller))  # fmt: skip
    assert response.status_code == 200
    row = order_row(db_session, order["code"])
    assert row.status == "confirmed" and row.payment_status == "paid" and row.payment_provider == "invoice"
    charge_id = payment_row(db_session, order["code"]).charge_id
    assert [r["amount"] for r in refunds_at(stripe, charge_id)] == [order["total"]]
    money = sums(db_session, order["code"])
    assert money["charge"] == 2 * order["total"] and money["refund"] == order["total"]
    assert money["commission"] + money["seller_share"] == order["total"]
    assert_balanced(db_session)


def test_the_sync_worker_sends_the_shares_of_orders_that_have_started(app, client, db_session, stripe, payments,
                                                                      listing, buyer_auth, seller):  # fmt: skip
    account_id = payments.stripe.create_account(email=seller.email)
    stripe.onboard(account_id)
    db_session.add(SellerAccount(user_id=seller.id, stripe_account_id=account_id, payouts_enabled=True,
                                 details_submitted=True, updated_at=utcnow()))  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth, start=48)
    assert transfer_due_shares(app, force=True) == []  # not started yet
    order = order_row(db_session, code)
    order.starts_at = utcnow() - timedelta(hours=1)  # as if two days had passed
    db_session.commit()
    assert len(transfer_due_shares(app, force=True)) == 1
    assert sums(db_session, code)["transfer"] == sums(db_session, code)["seller_share"] > 0
    assert transfer_due_shares(app) == []  # a minute between runs


def test_a_bank_transfer_refunded_in_full_by_hand_is_refunded_and_its_units_free(client, db_session, stripe, listing,
                                                                                buyer_auth, seller):  # fmt: skip
    order = place(client, listing, buyer_auth, payment_provider="invoice")
    client.post(f"{ORDERS}/{order['code']}/confirm", json={"reference": "ICBC 10"}, headers=bearer(db_session, seller))
    sign_in(client, seller)
    token = form_token(client, f"/orders/{order['code']}")
    total = f"{order['total'] / 100:.2f}"
    form = {"amount": total, "reason": "machines broke", "csrf_token": token}
    assert client.post(f"/payments/orders/{order['code']}/refund", data=form).status_code == 302
    row = order_row(db_session, order["code"])
    assert (row.status, row.payment_status) == ("refunded", "refunded")
    assert sums(db_session, order["code"])["refund"] == order["total"]
    assert_balanced(db_session)


def test_a_refund_stripe_refuses_comes_back_on_the_page_not_as_a_500(client, db_session, stripe, listing, buyer_auth,
                                                                   seller):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth)
    # Refunded in Stripe's dashboard, and its webhook not here yet: the ledger believes more is left than Stripe holds.
    stripe.client().v1.refunds.create(params={"charge": payment_row(db_session, code).charge_id})
    sign_in(client, seller)
    token = form_token(client, f"/orders/{code}")
    form = {"amount": "10", "reason": "late", "csrf_token": token}
    response = client.post(f"/payments/orders/{code}/refund", data=form)
    assert response.status_code == 409
    assert "Stripe refused the refund" in response.get_data(as_text=True)
    assert_balanced(db_session)


def test_cancelling_a_paid_order_asks_first_and_names_what_comes_back(client, db_session, stripe, listing, buyer,
                                                                      buyer_auth):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth)
    sign_in(client, buyer)
    page = client.get(f"/orders/{code}").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="free-cancel">(.*?)</form>', page, re.S).group(1)
    assert '<input type="checkbox" name="sure" value="yes" required>' in form
    assert f"¥{order_row(db_session, code).total / 100:,.2f}" in form
