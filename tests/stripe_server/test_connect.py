"""Express accounts, onboarding links and their page, Transfers and reversals."""

import time

import pytest
import requests
import stripe

from .helpers import paid_session


def onboarded_account(server, client):
    account = client.v1.accounts.create(params={"type": "express", "country": "US", "email": "seller@example.com",
                                                "capabilities": {"transfers": {"requested": True}}})  # fmt: skip
    server.onboard(account.id)
    return account


def test_an_account_is_onboarded_through_its_link_page(stripe_server, stripe_client):
    account = stripe_client.v1.accounts.create(params={"type": "express", "metadata": {"seller": "7"}})
    assert account.id.startswith("acct_")
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (False, False, False)
    link = stripe_client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
        "refresh_url": "http://node.test/payouts/refresh", "return_url": "http://node.test/payouts/done"})  # fmt: skip
    assert link.object == "account_link" and link.expires_at > time.time()
    page = requests.get(link.url, timeout=5)
    assert page.status_code == 200 and account.id in page.text
    done = requests.post(link.url, allow_redirects=False, timeout=5)
    assert (done.status_code, done.headers["Location"]) == (303, "http://node.test/payouts/done")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (True, True, True)
    assert account.capabilities.transfers == "active" and account.metadata.to_dict() == {"seller": "7"}
    used = requests.get(link.url, allow_redirects=False, timeout=5)
    assert (used.status_code, used.headers["Location"]) == (303, "http://node.test/payouts/refresh")
    [event] = stripe_server.events("account.updated")
    assert event["data"]["previous_attributes"]["charges_enabled"] is False


def test_an_expired_link_sends_to_refresh_url(stripe_server, stripe_client):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    link = stripe_client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
        "refresh_url": "http://node.test/r", "return_url": "http://node.test/ok"})  # fmt: skip
    stripe_server.advance(301)
    assert requests.get(link.url, allow_redirects=False, timeout=5).headers["Location"] == "http://node.test/r"
    assert stripe_client.v1.accounts.retrieve(account.id).details_submitted is False


def test_account_link_needs_urls_and_an_account(stripe_client):
    account = stripe_client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
                                                      "refresh_url": "http://node.test/r"})  # fmt: skip
    assert refused.value.param == "return_url"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.account_links.create(params={"account": "acct_none", "type": "account_onboarding",
            "refresh_url": "http://node.test/r", "return_url": "http://node.test/ok"})  # fmt: skip
    assert (missing.value.param, missing.value.code) == ("account", "resource_missing")


def test_transfer_from_a_charge_and_reverse_it(stripe_server, stripe_client):
    account = onboarded_account(stripe_server, stripe_client)
    charge_id = paid_session(stripe_server, stripe_client).payment_intent.latest_charge
    transfer = stripe_client.v1.transfers.create(params={"amount": 20000, "currency": "cny",
        "destination": account.id, "source_transaction": charge_id, "transfer_group": "ORD-1",
        "metadata": {"order": "ORD-1"}})  # fmt: skip
    assert transfer.id.startswith("tr_") and transfer.destination == account.id
    assert (transfer.amount, transfer.source_transaction, transfer.transfer_group) == (20000, charge_id, "ORD-1")
    part = stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 5000})
    assert part.id.startswith("trr_") and part.transfer == transfer.id
    stripe_client.v1.transfers.reversals.create(transfer.id)
    transfer = stripe_client.v1.transfers.retrieve(transfer.id)
    assert (transfer.amount_reversed, transfer.reversed) == (20000, True)
    assert [r.amount for r in stripe_client.v1.transfers.reversals.list(transfer.id).data] == [15000, 5000]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.reversals.create(transfer.id)
    assert [e["type"] for e in stripe_server.events() if e["type"].startswith("transfer.")] == \
        ["transfer.created", "transfer.reversed", "transfer.reversed"]  # fmt: skip


def test_transfers_are_refused_to_unready_accounts_and_beyond_the_money(stripe_server, stripe_client):
    charge_id = paid_session(stripe_server, stripe_client).payment_intent.latest_charge
    fresh = stripe_client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError) as unready:
        stripe_client.v1.transfers.create(params={"amount": 100, "currency": "cny", "destination": fresh.id})
    assert unready.value.code == "insufficient_capabilities_for_transfer"
    ready = onboarded_account(stripe_server, stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as beyond:
        stripe_client.v1.transfers.create(params={"amount": 24691, "currency": "cny", "destination": ready.id,
                                                  "source_transaction": charge_id})  # fmt: skip
    assert beyond.value.code == "balance_insufficient"
    with pytest.raises(stripe.InvalidRequestError) as nowhere:
        stripe_client.v1.transfers.create(params={"amount": 100, "currency": "cny", "destination": "acct_none"})
    assert (nowhere.value.param, nowhere.value.code) == ("destination", "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as balance:
        stripe_client.v1.transfers.create(params={"amount": 24691, "currency": "cny", "destination": ready.id})
    assert balance.value.code == "balance_insufficient"
    assert stripe_client.v1.transfers.list().data == []
