"""Stripe, the one place it is spoken to: Checkout Sessions, refunds, and Connect (accounts, transfers).

The client is injected (built from STRIPE_SECRET_KEY and STRIPE_API_BASE by `make_client`), never global,
so tests and the demo point it at a local Stripe-compatible server.
"""

from datetime import datetime

import stripe

from ..models import Order, Payment
from .providers import Checkout, PaymentState, Refund

API_VERSION = None  # the library's pinned version


def make_client(config) -> stripe.StripeClient | None:
    """A Stripe client for this node's account, or None when it has no secret key (invoices only)."""
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        return None
    base = config.get("STRIPE_API_BASE")
    addresses = {"api": base, "connect": base} if base else None
    return stripe.StripeClient(key, base_addresses=addresses, max_network_retries=2)


def _id(value) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if value is None or isinstance(value, str):
        return value
    return value.id


class StripeProvider:
    """Stripe Checkout on the node's own account; Connect for sellers' shares."""

    name = "stripe"
    opens_page = True

    def __init__(self, client: stripe.StripeClient):
        self.client = client

    def start(self, order: Order, *, success_url: str, cancel_url: str) -> Checkout | None:
        """A Checkout Session for the order's total, lapsing with the hold (Stripe wants it ≥ 30 min ahead)."""
        methods = ["card", "alipay", "wechat_pay"] if order.currency == "cny" else ["card"]
        params = {
            "mode": "payment",
            "client_reference_id": order.code,
            "expires_at": int(order.hold_expires_at.timestamp()),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "payment_method_types": methods,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": order.currency, "unit_amount": order.total,
                "product_data": {"name": f"{order.listing_code} × {order.units}"},
            }}],
            "metadata": {"order_code": order.code},
            "payment_intent_data": {"metadata": {"order_code": order.code}, "transfer_group": order.code},
        }  # fmt: skip
        if "wechat_pay" in methods:
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        session = self.client.v1.checkout.sessions.create(params, {"idempotency_key": f"checkout-{order.code}"})
        return Checkout(id=session.id, url=session.url)

    def close(self, payment: Payment) -> None:
        """Expire the order's open Checkout Session; one already complete or expired is left alone."""
        if not payment.session_id:
            return
        session = self.client.v1.checkout.sessions.retrieve(payment.session_id)
        if session.status == "open":
            self.client.v1.checkout.sessions.expire(payment.session_id)

    def read(self, payment: Payment) -> PaymentState:
        """The session, its payment intent's charge and the charge's refunds, as Stripe has them now.

        One request in the usual case (the intent and its charge expanded into the session); the refunds
        are listed only when the charge says some money went back.
        """
        state = PaymentState()
        if not payment.session_id:
            return state
        session = self.client.v1.checkout.sessions.retrieve(
            payment.session_id, {"expand": ["payment_intent.latest_charge"]})
        state.closed = session.status == "expired"
        intent = session.payment_intent
        state.payment_intent_id = _id(intent) or payment.payment_intent_id
        if session.payment_status != "paid" or intent is None or isinstance(intent, str):
            return state
        charge = intent.latest_charge
        if intent.status != "succeeded" or charge is None or isinstance(charge, str):
            return state
        state.charge_id, state.amount = charge.id, charge.amount
        state.paid = bool(charge.paid) and charge.status == "succeeded"
        if charge.amount_refunded:
            refunds = self.client.v1.refunds.list({"charge": charge.id, "limit": 100})
            state.refunds = [Refund(id=r.id, amount=r.amount) for r in refunds.data
                             if r.status in ("succeeded", "pending")]  # fmt: skip
        return state

    def refund(self, payment: Payment, *, amount: int, key: str) -> Refund | None:
        """Give back `amount` of the order's charge (the key makes a retry the same refund)."""
        refund = self.client.v1.refunds.create({"charge": payment.charge_id, "amount": amount},
                                               {"idempotency_key": key})  # fmt: skip
        return Refund(id=refund.id, amount=refund.amount)

    # Connect: the sellers' Express accounts and the transfers of their shares.

    def create_account(self, *, email: str) -> str:
        """A new Express account for a seller: its id."""
        account = self.client.v1.accounts.create({"type": "express", "email": email, "country": "HK",
                                                  "capabilities": {"transfers": {"requested": True}}})  # fmt: skip
        return account.id

    def account_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        """Where the seller completes Stripe's onboarding."""
        link = self.client.v1.account_links.create(
            {"account": account_id, "refresh_url": refresh_url, "return_url": return_url, "type": "account_onboarding"}
        )
        return link.url

    def account_status(self, account_id: str) -> tuple[bool, bool]:
        """(details submitted, payouts enabled) of a connected account."""
        account = self.client.v1.accounts.retrieve(account_id)
        return bool(account.details_submitted), bool(account.payouts_enabled)

    def transfer(self, payment: Payment, *, order: Order, amount: int, destination: str) -> str:
        """Send the seller's share, funded by the order's charge (separate charges and transfers)."""
        transfer = self.client.v1.transfers.create(
            {"amount": amount, "currency": order.currency, "destination": destination,
             "source_transaction": payment.charge_id, "transfer_group": order.code,
             "metadata": {"order_code": order.code}},
            {"idempotency_key": f"transfer-{order.code}"},
        )  # fmt: skip
        return transfer.id

    def reverse_transfer(self, payment: Payment, *, amount: int, key: str) -> Refund:
        """Take back `amount` of the seller's transfer (the order was refunded after it)."""
        reversal = self.client.v1.transfers.reversals.create(payment.transfer_id, {"amount": amount},
                                                             {"idempotency_key": key})  # fmt: skip
        return Refund(id=reversal.id, amount=reversal.amount)

    def construct_event(self, payload: bytes, header: str, secret: str, tolerance: int) -> stripe.Event:
        """The event of a webhook delivery, its signature checked (raises SignatureVerificationError or ValueError)."""
        return self.client.construct_event(payload, header, secret, tolerance)

    def recent_events(self, *, since: datetime, types: list[str]) -> list:
        """Events Stripe sent (or meant to) since a moment: what reconciliation compares with those received."""
        page = self.client.v1.events.list({"created": {"gte": int(since.timestamp())}, "types": types, "limit": 100})
        return list(page.auto_paging_iter())

    def session_of_payment_intent(self, payment_intent_id: str) -> str | None:
        """The Checkout Session that created a payment intent (an event about a charge names only the intent)."""
        page = self.client.v1.checkout.sessions.list({"payment_intent": payment_intent_id, "limit": 1})
        return page.data[0].id if page.data else None
