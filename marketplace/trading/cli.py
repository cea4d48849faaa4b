"""`flask orders list|show CODE|expire`: orders of this node from the command line."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import get_db
from ..models import Order, OrderEvent
from ..models.types import utcnow
from ..templating import local_time, money
from .services import expire_holds
from .sweep import publish_stale


@click.group("orders")
def orders_cli():
    """Orders of this node's listings."""


def _line(order: Order) -> str:
    return (f"{order.code}  {order.status:<9}  {order.listing_code}  {order.units} × "
            f"{local_time(order.starts_at)} → {local_time(order.ends_at)}  {money(order.total, order.currency)}  "
            f"{order.buyer_name}")  # fmt: skip


@orders_cli.command("list")
@click.option("--status", type=click.Choice(["held", "confirmed", "cancelled", "expired", "refunded"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def list_command(status: str | None, limit: int):
    """The newest orders, one a line."""
    with get_db().session() as session:
        query = select(Order).order_by(Order.id.desc()).limit(limit)
        if status:
            query = query.where(Order.status == status)
        orders = session.scalars(query).all()
    for order in orders:
        click.echo(_line(order))
    if not orders:
        click.echo("no orders")


@orders_cli.command("show")
@click.argument("code")
@with_appcontext
def show_command(code: str):
    """One order and everything that happened to it."""
    with get_db().session() as session:
        order = session.scalars(select(Order).where(Order.code == code.strip().upper())).first()
        if order is None:
            raise click.ClickException(f"no order {code.upper()}")
        click.echo(_line(order))
        click.echo(f"payment: {order.payment_provider} {order.payment_status}"
                   + (f" ({order.payment_reference})" if order.payment_reference else ""))  # fmt: skip
        if order.hold_expires_at:
            click.echo(f"hold expires: {local_time(order.hold_expires_at)}")
        events = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
        for event in events:
            click.echo(f"  {local_time(event.created_at)}  {event.kind:<12} {event.actor}  {event.reason}")


@orders_cli.command("expire")
@with_appcontext
def expire_command():
    """Mark lapsed holds expired and publish the capacity they free, and any capacity left stale by orders."""
    with get_db().session() as session:
        expired = expire_holds(session=session, now=utcnow())
        session.commit()
        for order in expired:
            click.echo(f"expired {order.code}: freed {order.units} of {order.listing_code} "
                       f"{local_time(order.starts_at)} → {local_time(order.ends_at)}")  # fmt: skip
    click.echo(f"{len(expired)} lapsed hold{'' if len(expired) == 1 else 's'} expired")
    if republished := publish_stale(current_app._get_current_object()):
        click.echo(f"{republished} listing{'' if republished == 1 else 's'}' capacity republished")
