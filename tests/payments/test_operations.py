"""Reconciliation after lost webhooks, the seller's balance and Stripe account, payouts, fapiao requests."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.models import AuditEntry, SellerAccount, StripeEvent
from marketplace.models.types import utcnow
from marketplace.payments import ledger

from ..conftest import form_token, sign_in
from ..factories import bearer, make_listing, make_user
from .conftest import deliver, events_of
from .helpers import assert_balanced, order_row, payment_row, place, sums
from .test_checkout import paid


@pytest.fixture
def listing(db_session, seller):
    return make_listing(db_session, seller, quantity=3)


@pytest.fixture
def buyer_auth(db_session, buyer):
    return bearer(db_session, buyer)


def test_reconcile_mends_what_lost_webhooks_left_and_says_what_it_changed(app, client, db_session, stripe, listing,
                                                                          buyer_auth):  # fmt: skip
    paid_order, lapsed_order, open_order = (place(client, listing, buyer_auth)["code"] for _ in range(3))
    stripe.pay(payment_row(db_session, paid_order).session_id)  # none of the events reach the node
    stripe.expire(payment_row(db_session, lapsed_order).session_id)
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert f"{paid_order}: paid, confirmed" in result.output
    assert f"{lapsed_order}: payment page lapsed, expired" in result.output
    assert "was not delivered" in result.output and "ledger balanced" in result.output
    assert order_row(db_session, paid_order).status == "confirmed"
    assert order_row(db_session, lapsed_order).status == "expired"
    assert order_row(db_session, open_order).status == "held"
    again = app.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert "0 changes" in again.output, again.output
    assert_balanced(db_session)


def test_the_seller_sees_balance_share_and_commission_and_connects_a_stripe_account(
        client, db_session, stripe, listing, buyer_auth, seller):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth)
    sign_in(client, seller)
    page = client.get("/payments/balance").get_data(as_text=True)
    money = sums(db_session, code)
    assert code in page and f"{money['seller_share'] / 100:,.2f}" in page
    assert f"{money['commission'] / 100:,.2f}" in page
    response = client.post("/payments/connect", data={"csrf_token": form_token(client, "/payments/balance")})
    assert response.status_code == 302 and response.headers["Location"].startswith(stripe.url)
    account = db_session.scalars(select(SellerAccount)).one()
    assert client.get("/payments/connect/return").status_code == 302
    db_session.expire_all()
    assert db_session.get(SellerAccount, account.id).payouts_enabled is False  # onboarding not finished yet
    stripe.onboard(account.stripe_account_id)
    client.get("/payments/connect/return")
    db_session.expire_all()
    assert db_session.get(SellerAccount, account.id).payouts_enabled is True


def test_operators_record_payouts_up_to_what_the_seller_is_owed(client, db_session, stripe, listing, buyer_auth,
                                                                 seller):  # fmt: skip
    order = order_row(db_session, paid(client, stripe, db_session, listing, buyer_auth))
    order.starts_at, order.ends_at = order.starts_at - timedelta(days=3), order.ends_at - timedelta(days=3)
    db_session.flush()  # the order has started: the seller's share of it is earned, so owed
    owed = ledger.seller_balance(session=db_session, seller_id=seller.id, now=utcnow()).owed
    assert owed > 0
    operator = make_user(db_session, role="operator")
    sign_in(client, operator)
    assert 'href="/operator/payouts"' in client.get("/").get_data(as_text=True)  # in the header, for operators
    owed_text = f"¥{owed / 100:,.2f}"
    balances = re.search(r'<table id="balances">(.*?)</table>', client.get("/operator/payouts").get_data(as_text=True),
                         re.S).group(1)  # fmt: skip
    assert seller.email in balances and f"<strong>{owed_text}</strong>" in balances  # what the seller is owed
    token = form_token(client, "/operator/payouts")

    def pay(amount: str, reference: str):
        return client.post("/operator/payouts", data={"seller_email": seller.email, "amount": amount,
                                                      "reference": reference, "csrf_token": token})  # fmt: skip

    too_much = pay(f"{(owed + 1) / 100:.2f}", "ICBC 777")
    assert too_much.status_code == 422
    page = too_much.get_data(as_text=True)  # the form again: the reason beside the amount, the input kept
    assert 'id="amount-error">This seller is owed' in page and 'value="ICBC 777"' in page
    assert pay("12,00", "x").status_code == 422
    assert pay("0", "ICBC 0").status_code == 422 and pay("１", "ICBC 0").status_code == 422  # not a fen; not 0-9
    assert pay(f"{owed / 100:.2f}", "ICBC 778").status_code == 302
    after = client.get("/operator/payouts").get_data(as_text=True)
    assert 'id="ledger-ok"' in after and "<strong>¥0.00</strong>" in after and f"· {owed_text}</td>" in after
    assert pay("0.01", "ICBC 779").status_code == 422  # nothing is owed any more
    again = pay(f"{owed / 100:.2f}", "ICBC 778")
    assert again.status_code == 422 and 'id="reference-error"' in again.get_data(as_text=True)  # one reference, once
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, seller)
    assert 'href="/payments/balance"' in client.get("/").get_data(as_text=True)  # in the header, for sellers
    balance = client.get("/payments/balance").get_data(as_text=True)
    assert f"{owed / 100:,.2f}" in balance and "-¥" not in balance and "¥-" not in balance
    payouts = ledger.seller_balance(session=db_session, seller_id=seller.id, now=utcnow()).payouts
    assert [entry.reference for entry in payouts] == ["payout:ICBC 778"]


def test_every_sellers_balance_at_once_adds_up_as_each_sellers_own(client, db_session, stripe, listing, buyer_auth,
                                                                   seller):  # fmt: skip
    other = make_user(db_session, role="seller", name="Other seller")
    other_listing = make_listing(db_session, other, quantity=2)
    started = order_row(db_session, paid(client, stripe, db_session, listing, buyer_auth))
    started.starts_at, started.ends_at = started.starts_at - timedelta(days=3), started.ends_at - timedelta(days=3)
    paid(client, stripe, db_session, listing, buyer_auth, start=60, end=62)  # not started: pending
    paid(client, stripe, db_session, other_listing, buyer_auth)
    db_session.flush()
    now = utcnow()
    for reference, amount in (("payout:first", 100), ("payout:second", 50)):
        ledger.enter_payout(session=db_session, seller_id=seller.id, amount=amount, currency="cny",
                            reference=reference, note="", actor="ops@example.cn", now=now)  # fmt: skip
    together = ledger.sellers_balances(db_session, now)
    assert {seller_id for seller_id, _b in together} == {seller.id, other.id}
    assert [b.owed for _i, b in together] == sorted((b.owed for _i, b in together), reverse=True)
    for seller_id, balance in together:
        alone = ledger.seller_balance(session=db_session, seller_id=seller_id, now=now)
        assert (balance.earned, balance.pending, balance.paid_out, balance.owed) == (
            alone.earned, alone.pending, alone.paid_out, alone.owed)
        assert balance.payouts == alone.payouts[:1]
    mine = dict(together)[seller.id]
    assert mine.earned > 0 and mine.pending > 0 and mine.payouts[0].reference == "payout:second"


def test_a_buyer_asks_for_a_fapiao_checked_by_its_credit_code_and_the_seller_marks_it_issued(
        client, db_session, stripe, listing, buyer, buyer_auth, seller):  # fmt: skip
    code = paid(client, stripe, db_session, listing, buyer_auth)
    sign_in(client, buyer)
    token = form_token(client, f"/orders/{code}")
    wrong = client.post(f"/payments/orders/{code}/fapiao",
                        data={"company": "贵安算力有限公司", "uscc": "91110000600037341A", "csrf_token": token})
    assert wrong.status_code == 422 and payment_row(db_session, code).fapiao_uscc is None
    page = wrong.get_data(as_text=True)  # the order page again, the reason beside the code, the company kept
    assert 'id="uscc-error"' in page and 'value="贵安算力有限公司"' in page
    right = client.post(f"/payments/orders/{code}/fapiao",
                        data={"company": "贵安算力有限公司", "uscc": "91110000600037341L", "csrf_token": token})
    assert right.status_code == 302
    refused = client.post(f"/payments/orders/{code}/fapiao/issued", data={"number": "12345678", "csrf_token": token})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, seller)
    token = form_token(client, f"/orders/{code}")
    client.post(f"/payments/orders/{code}/fapiao/issued", data={"number": "044001900111", "csrf_token": token})
    db_session.expire_all()
    row = payment_row(db_session, code)
    assert (row.fapiao_company, row.fapiao_uscc, row.fapiao_number) == ("贵安算力有限公司", "91110000600037341L",
                                                                        "044001900111")


def test_the_pay_button_opens_checkout_for_an_invoice_hold_unless_too_little_of_it_is_left(
        client, db_session, stripe, listing, buyer, buyer_auth):  # fmt: skip
    order = place(client, listing, buyer_auth, payment_provider="invoice")
    sign_in(client, buyer)
    token = form_token(client, f"/orders/{order['code']}")
    response = client.post(f"/payments/orders/{order['code']}/pay", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith(stripe.url)
    assert order_row(db_session, order["code"]).payment_provider == "stripe"
    short = place(client, listing, buyer_auth, payment_provider="invoice")
    row = order_row(db_session, short["code"])
    row.hold_expires_at = row.created_at + timedelta(minutes=10)  # Stripe wants 30 minutes at least
    db_session.commit()
    response = client.post(f"/payments/orders/{short['code']}/pay", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{short['code']}")
    assert stripe.state.all("checkout.session", lambda s: s["client_reference_id"] == short["code"]) == []


def test_account_updated_from_stripe_turns_payouts_on_without_the_seller_coming_back(client, db_session, stripe,
                                                                                    listing, seller):  # fmt: skip
    """The seller finishes onboarding at Stripe and closes the tab: Stripe's `account.updated` tells the node."""
    sign_in(client, seller)
    client.post("/payments/connect", data={"csrf_token": form_token(client, "/payments/balance")})
    account = db_session.scalars(select(SellerAccount)).one()
    stripe.onboard(account.stripe_account_id)
    [event] = events_of(stripe, account.stripe_account_id, "account.updated")
    assert deliver(client, stripe, event).status_code == 200
    db_session.expire_all()
    assert db_session.get(SellerAccount, account.id).payouts_enabled is True
    assert deliver(client, stripe, event).status_code == 200  # a second delivery changes nothing
    assert db_session.scalar(select(func.count()).select_from(StripeEvent).where(StripeEvent.id == event["id"])) == 1
    trail = db_session.scalars(select(AuditEntry).where(AuditEntry.object == f"stripe:{account.stripe_account_id}"))
    assert [json.loads(entry.detail)["changes"] for entry in trail] == [
        [f"payouts enabled for {account.stripe_account_id}"]
    ]


def test_a_sellers_balance_in_yuan_leaves_orders_in_other_currencies_out(client, db_session, seller, buyer_auth):
    dollars = make_listing(db_session, seller, quantity=3, currency="usd")
    order = place(client, dollars, buyer_auth, payment_provider="invoice")
    confirmed = client.post(f"/api/v1/orders/{order['code']}/confirm", json={"reference": "BOC 1"},
                            headers=bearer(db_session, seller))  # fmt: skip
    assert confirmed.status_code == 200
    row = order_row(db_session, order["code"])
    row.starts_at, row.ends_at = row.starts_at - timedelta(days=3), row.ends_at - timedelta(days=3)
    db_session.flush()  # started: its share would be earned, in dollars
    balance = ledger.seller_balance(session=db_session, seller_id=seller.id, now=utcnow())
    assert (balance.earned, balance.owed) == (0, 0)  # no dollars are added to yuan
    assert [line["order"].code for line in balance.orders] == [order["code"]]  # still listed, in its own currency
    sign_in(client, seller)
    assert "US$" in client.get("/payments/balance").get_data(as_text=True)
