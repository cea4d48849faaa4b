"""Units of work that talk to a provider: read or call it outside any transaction, then change and commit.

No transaction is held while the provider is called (on SQLite that would hold the write lock). Each
flow reads what it needs, rolls back, calls the provider, then writes and commits in a new transaction.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, url_for
from sqlalchemy import select
from sqlmodel import Session

from ..audit import record_audit
from ..models import Order, Payment, SellerAccount
from ..models.types import utcnow
from . import ledger
from .providers import InvoiceProvider, Provider
from .services import Outcome, apply_state, payment_of, record_checkout
from .stripe_provider import StripeProvider, make_client

log = logging.getLogger(__name__)


@dataclass
class NodePayments:
    """The node's providers and payment settings, built once per app from its configuration."""

    providers: dict[str, Provider]
    bps: int
    free_cancel_hours: int
    webhook_secret: str = ""
    invoice: InvoiceProvider = field(default_factory=lambda: InvoiceProvider(""))

    @property
    def stripe(self) -> StripeProvider | None:
        return self.providers.get("stripe")  # type: ignore[return-value]

    @classmethod
    def from_config(cls, config) -> "NodePayments":
        """Stripe only where the node has a secret key; invoices always."""
        invoice = InvoiceProvider(config.get("INVOICE_ACCOUNT", ""))
        providers: dict[str, Provider] = {"invoice": invoice}
        client = make_client(config)
        if client is not None:
            providers = {"stripe": StripeProvider(client), "invoice": invoice}
        return cls(providers=providers, bps=config["COMMISSION_BPS"], free_cancel_hours=config["FREE_CANCEL_HOURS"],
                   webhook_secret=config.get("STRIPE_WEBHOOK_SECRET", ""), invoice=invoice)  # fmt: skip


def node_payments(app: Flask) -> NodePayments:
    """The app's payments (see `init_app`)."""
    return app.extensions["payments"]


def _provider(payments: NodePayments, name: str) -> Provider | None:
    return payments.providers.get(name)


def open_checkout(payments: NodePayments, session: Session, order: Order) -> Payment | None:
    """Open the provider's payment page for a held order (once) and remember it; committed."""
    provider = _provider(payments, order.payment_provider)
    existing = payment_of(session, order)
    if provider is None or order.status != "held" or (existing and existing.session_id):
        return existing
    code = order.code
    session.rollback()
    checkout = provider.start(
        order, success_url=url_for("payments.paid", code=code, _external=True),
        cancel_url=url_for("trading.order_page", code=code, _external=True),
    )  # fmt: skip
    if checkout is None:
        return None
    payment = record_checkout(session=session, order=order, checkout_id=checkout.id, url=checkout.url, now=utcnow())
    session.commit()
    return payment


def sync_order(payments: NodePayments, session: Session, order: Order, *, now: datetime | None = None) -> Outcome:
    """Read the order's payment from its provider and apply it; give back money due; committed."""
    payment = payment_of(session, order)
    provider = _provider(payments, payment.provider) if payment else None
    if payment is None or provider is None or not payment.session_id:
        return Outcome()
    session.rollback()
    state = provider.read(payment)
    outcome = apply_state(session=session, order=order, payment=payment, state=state, bps=payments.bps,
                          now=now or utcnow())  # fmt: skip
    session.commit()
    if outcome.refund_due:
        outcome.changes += give_back(payments, session, order, amount=outcome.refund_due, key=f"refund-{order.code}")
    return outcome


def give_back(payments: NodePayments, session: Session, order: Order, *, amount: int, key: str,
              note: str = "", actor: str = "system") -> list[str]:  # fmt: skip
    """Refund `amount` through the order's provider, enter it, and take back a transfer made of it; committed."""
    payment = payment_of(session, order)
    provider = _provider(payments, payment.provider) if payment else None
    if payment is None or provider is None or not payment.charge_id:
        return []
    session.rollback()
    refund = provider.refund(payment, amount=amount, key=key)
    if refund is None:
        return []
    changes = []
    now = utcnow()
    if ledger.enter_refund(session=session, order=order, amount=refund.amount, reference=refund.id, note=note,
                           actor=actor, now=now):  # fmt: skip
        changes.append(f"{order.code}: refunded {refund.amount} ({refund.id})")
        # Like a refund by bank transfer (services.record_manual_refund): who gave it back, and why.
        record_audit(session=session, action="payment.refund", actor=actor, object=f"order:{order.code}",
                     detail={"amount": refund.amount, "reason": note, "reference": refund.id})  # fmt: skip
    sums = ledger.sums_of(session, order.id)
    if ledger.net_paid(sums) == 0:
        order.payment_status = "refunded"
    session.commit()
    return changes + reverse_excess_transfer(payments, session, order)


def reverse_excess_transfer(payments: NodePayments, session: Session, order: Order) -> list[str]:
    """A refund after the seller's share was transferred: take back what the share no longer covers."""
    payment, stripe = payment_of(session, order), payments.stripe
    sums = ledger.sums_of(session, order.id)
    excess = sums["transfer"] - max(sums["seller_share"], 0)
    if stripe is None or payment is None or not payment.transfer_id or excess <= 0:
        return []
    session.rollback()
    reversal = stripe.reverse_transfer(payment, amount=excess, key=f"reverse-{order.code}-{sums['refund']}")
    ledger.enter_transfer(session=session, order=order, amount=-reversal.amount, reference=reversal.id, now=utcnow())
    session.commit()
    return [f"{order.code}: transfer reversed by {reversal.amount} ({reversal.id})"]


def close_checkout(payments: NodePayments, session: Session, order: Order) -> None:
    """An order no longer held (cancelled, confirmed by bank transfer): nobody should pay its page any more."""
    payment = payment_of(session, order)
    provider = _provider(payments, payment.provider) if payment else None
    if payment is None or provider is None or not payment.session_id:
        return
    session.rollback()
    provider.close(payment)


def after_order_saved(payments: NodePayments, session: Session, order: Order) -> None:
    """What the provider must do after a view committed a change of an order (trading's `order_saved`)."""
    if order.status == "held":
        provider = _provider(payments, order.payment_provider)
        if provider is not None and provider.opens_page:  # a bank transfer opens no page: nothing to read or call
            open_checkout(payments, session, order)
        return
    payment = payment_of(session, order)
    if payment is None or payment.provider == "invoice" or not payment.session_id:
        return
    if order.status == "refunded" and order.payment_status == "refund_pending":
        net = ledger.net_paid(ledger.sums_of(session, order.id))
        if net > 0:
            give_back(payments, session, order, amount=net, key=f"refund-{order.code}")
        return
    if order.status in ("cancelled", "expired") or order.payment_provider != payment.provider:
        close_checkout(payments, session, order)
        sync_order(payments, session, order)  # paid in the meantime: the money goes back at once


def transfer_shares(payments: NodePayments, session: Session, *, now: datetime) -> list[str]:
    """Send each connected seller their share of every confirmed order that has started; committed."""
    stripe = payments.stripe
    if stripe is None:
        return []
    rows = session.execute(
        select(Order, Payment, SellerAccount).join(Payment, Payment.order_id == Order.id)
        .join(SellerAccount, SellerAccount.user_id == Order.seller_id)
        .where(Order.status == "confirmed", Order.starts_at <= now, Payment.charge_id.is_not(None),
               Payment.transfer_id.is_(None), SellerAccount.payouts_enabled.is_(True))
    ).all()  # fmt: skip
    changes = []
    for order, payment, account in rows:
        share = ledger.sums_of(session, order.id)["seller_share"]
        if share <= 0:
            continue
        destination = account.stripe_account_id
        session.rollback()
        transfer_id = stripe.transfer(payment, order=order, amount=share, destination=destination)
        payment = session.get(Payment, payment.id)
        payment.transfer_id = transfer_id
        ledger.enter_transfer(session=session, order=order, amount=share, reference=transfer_id, now=now)
        session.commit()
        changes.append(f"{order.code}: {share} transferred to {destination} ({transfer_id})")
    return changes

