"""How payments follows trading's orders: trading announces, payments enters money and calls providers.

Trading sits below and cannot import this package; it sends `order_moved` inside the unit of work of a
transition and `order_saved` after a view committed a change. The app's `NodePayments` is looked up on
the app that sent (several nodes may run in one process).
"""

import logging

from flask import Flask, current_app, has_app_context
from sqlmodel import Session

from ..audit import actor_of
from ..models import Order
from ..trading.services import order_moved, order_saved
from . import ledger
from .flows import NodePayments, after_order_saved
from .services import ensure_payment

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """The node's providers from its configuration; payments follows trading's orders from now on."""
    app.extensions["payments"] = NodePayments.from_config(app.config)
    order_moved.connect(enter_offline_money)
    order_saved.connect(call_provider)


def enter_offline_money(order: Order, *, session: Session, from_status: str | None, actor, now, **_kw) -> None:
    """A bank transfer recorded (confirmed invoice order) or owed back (its refund): into the ledger at once."""
    if order.payment_provider != "invoice" or not has_app_context() or "payments" not in current_app.extensions:
        return
    if order.status == "confirmed" and from_status == "held":
        ensure_payment(session, order, now=now)
        ledger.enter_charge(session=session, order=order, amount=order.total, reference=f"invoice:{order.code}",
                            bps=current_app.extensions["payments"].bps, now=now, actor=actor_of(actor))  # fmt: skip
    elif order.status == "refunded" and from_status == "confirmed":
        net = ledger.net_paid(ledger.sums_of(session, order.id))
        if net > 0:  # returned by bank transfer: owed from now on, `refund_pending` until it is sent
            ledger.enter_refund(session=session, order=order, amount=net, reference=f"invoice-refund:{order.code}",
                                note="by bank transfer", actor=actor_of(actor), now=now)  # fmt: skip


def call_provider(app, *, order: Order, session: Session, **_kw) -> None:
    """After the commit: open a new hold's payment page, close a cancelled one's, refund a cancelled payment.

    A provider that fails leaves the order as committed; `flask payments reconcile` mends what is left.
    """
    payments = app.extensions.get("payments")
    if payments is None:
        return
    try:
        after_order_saved(payments, session, order)
    except Exception:  # the order is committed: the person sees it; reconciliation finishes the provider's part
        session.rollback()
        log.exception("the payment provider failed after order %s changed", order.code)
