"""`flask payments reconcile|transfer`: mend what lost webhooks left, send sellers their shares."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from ..db import get_db
from ..models import Order, Payment, StripeEvent
from ..models.types import utcnow
from . import ledger
from .flows import node_payments, sync_order, transfer_shares
from .webhooks import receive_event

EVENT_TYPES = ["checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired",
               "charge.refunded"]  # fmt: skip


@click.group("payments")
def payments_cli():
    """Payments of this node's orders."""


def open_orders(session) -> list[Order]:
    """Orders whose payment may still change: held, paid but not settled, refunds pending, or never charged."""
    query = (
        select(Order).join(Payment, Payment.order_id == Order.id)
        .where(Payment.provider == "stripe", Payment.session_id.is_not(None),
               or_(Order.status == "held", Order.payment_status.in_(("awaiting", "refund_pending")),
                   Payment.charge_id.is_(None) & Order.status.in_(("confirmed", "cancelled", "expired"))))
        .order_by(Order.id)
    )  # fmt: skip
    return list(session.scalars(query))


@payments_cli.command("reconcile")
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1, max=30),
              help="How far back to look for events Stripe sent that never arrived.")  # fmt: skip
@with_appcontext
def reconcile_command(days: int):
    """Compare open orders with Stripe, apply undelivered events, and check that the ledger adds up."""
    payments = node_payments(current_app)
    changes: list[str] = []
    with get_db().session() as session:
        if payments.stripe is not None:
            for event in payments.stripe.recent_events(since=utcnow() - timedelta(days=days), types=EVENT_TYPES):
                if session.get(StripeEvent, event.id) is None:
                    status, applied = receive_event(payments, session, event)
                    changes += [f"event {event.id} ({event.type}) was not delivered: {status}"] + applied
            for order_id in [order.id for order in open_orders(session)]:
                order = session.get(Order, order_id)
                changes += sync_order(payments, session, order).changes
        problems = ledger.unbalanced(session)
    for line in changes:
        click.echo(line)
    click.echo(f"{len(changes)} change{'' if len(changes) == 1 else 's'}")
    for problem in problems:
        click.echo(f"ledger: {problem}", err=True)
    if problems:
        raise click.ClickException(f"the ledger does not add up for {len(problems)} order(s)")
    click.echo("ledger balanced")


@payments_cli.command("transfer")
@with_appcontext
def transfer_command():
    """Send connected sellers their share of every confirmed order that has started."""
    with get_db().session() as session:
        changes = transfer_shares(node_payments(current_app), session, now=utcnow())
    for line in changes:
        click.echo(line)
    click.echo(f"{len(changes)} transfer{'' if len(changes) == 1 else 's'}")
