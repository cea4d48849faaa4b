"""Pages of trading: availability and the order form on a listing, quotes, orders, sales, notifications."""

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.auth import page_role_required
from ..config import hold_seconds_for, payment_providers
from ..db import about_to_write, get_session
from ..errors import DomainError
from ..federation.directory import node_url
from ..i18n import _, local_time
from ..i18n.messages import translate_message
from ..inputs import ascii_digits
from ..listings.services import find_listing, listings_of_seller
from ..models import Listing, Order, OrderEvent
from ..models.types import utcnow
from . import capacity
from .api import commit_saved
from .chart import free_chart
from .forms import cst_input, window_from_form
from .groups import groups_of
from .pricing import line_text
from .queries import list_orders, notifications_for, utilisation
from .remote import (
    cancel_remote_order,
    find_remote_order,
    held_elsewhere,
    listing_copy_for_sale,
    place_elsewhere,
    quote_at_origin,
    refresh_remote_order,
    remote_orders_of,
)
from .schemas import ORDER_STATUS_FILTER
from .services import (
    can_sell,
    cancel_order,
    confirm_order,
    find_order,
    give_access,
    is_operator,
    listing_for_sale,
    place_order,
    quote_order,
    report_not_delivered,
)

bp = Blueprint("trading", __name__)
bp.add_app_template_filter(line_text)  # an order line's words, in the reader's language


def _published_capacity(listing: Listing, now):
    """Fresh from the orders at the origin; the synced copy's capacity at other nodes."""
    if listing.origin == current_app.config["NODE_CODE"]:
        return capacity.capacity_of(listing, capacity.live_spans(get_session(), listing.id, now=now), now)
    return listing.capacity


@bp.app_template_global()
def availability_chart(listing: Listing):
    """The free-units chart of a listing page (a template global: the listing page belongs to listings)."""
    now = utcnow()
    return free_chart(listing, _published_capacity(listing, now), now)


@bp.app_template_global()
def order_form_defaults(listing: Listing) -> dict:
    """Units 1, from the next whole hour (or the window's start) for the listing's minimum rental."""
    start = max(utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), listing.available_from)
    start = start.replace(minute=0, second=0, microsecond=0)
    if start < listing.available_from:
        start += timedelta(hours=1)
    end = start + timedelta(hours=max(listing.min_hours, 1))
    return {"units": "1", "start": cst_input(start), "end": cst_input(end)}


@bp.app_template_global()
def listing_utilisation(listing: Listing) -> float | None:
    """Share of unit-hours held or sold over the next 30 days (the seller's dashboard)."""
    if listing.status not in ("published", "paused"):
        return None
    return utilisation(session=get_session(), listing=listing, now=utcnow())


def _sellable(code: str) -> Listing:
    """A listing this node sells, or its copy of another node's listing that is for sale there."""
    if held_elsewhere(code, current_app.config["NODE_CODE"]):
        return listing_copy_for_sale(session=get_session(), code=code, viewer=current_user)
    return listing_for_sale(session=get_session(), code=code, viewer=current_user,
                            node_code=current_app.config["NODE_CODE"])  # fmt: skip


def _quote(listing: Listing, window: dict):
    """The quote of this node, or of the listing's origin for another node's listing."""
    if listing.origin != current_app.config["NODE_CODE"]:
        return quote_at_origin(origin=listing.origin, listing_code=listing.code, window=window)
    return quote_order(session=get_session(), listing=listing, now=utcnow(), **window)


@bp.get("/listings/<code>/quote")
def quote(code: str):
    """The price of an order, line by line, and whether its units are free; reserving is one click away."""
    listing = _sellable(code)
    window, errors = window_from_form(request.args)
    result, refusal = None, None
    if not errors:
        try:
            result = _quote(listing, window)
        except DomainError as error:
            errors, refusal = error.field_errors() or {"units": [error.message]}, error
    status = refusal.status if refusal and not refusal.field_errors() else 422 if errors else 200
    return render_template("trading/quote.html", listing=listing, quote=result, window=window, errors=errors,
                           values=request.args, refusal=refusal), status  # fmt: skip


@bp.post("/listings/<code>/reserve")
@page_role_required("buyer")
def reserve(code: str):
    """Hold the quoted units: the order page follows, with how to pay."""
    listing = _sellable(code)
    window, errors = window_from_form(request.form)
    if errors:
        return render_template("trading/quote.html", listing=listing, quote=None, window=window, errors=errors,
                               values=request.form), 422  # fmt: skip
    expected = request.form.get("expected_total", "")
    expected_total = int(expected) if ascii_digits(expected) and len(expected) <= 15 else None  # the quoted total
    session, config = get_session(), current_app.config
    provider = payment_providers(config)[0]
    try:
        if listing.origin != config["NODE_CODE"]:  # held at its origin, on the buyer's behalf
            window |= {"listing_code": listing.code, "expected_total": expected_total}
            record, _created = place_elsewhere(session=session, buyer=current_user, origin=listing.origin,
                                               window=window, key=None, now=utcnow())  # fmt: skip
            flash(_("Order %(code)s is held for you at node %(node)s until %(time)s.", code=record.code,
                    node=record.origin, time=local_time(record.hold_expires_at)), "success")  # fmt: skip
            return redirect(url_for("trading.order_page", code=record.code))
        order, _created = place_order(session=session, listing=listing, buyer=current_user, now=utcnow(),
                                      node_code=config["NODE_CODE"], payment_provider=provider,
                                      hold_seconds=hold_seconds_for(config, provider),
                                      expected_total=expected_total,
                                      **window)  # fmt: skip
    except DomainError as error:
        session.rollback()
        listing = _sellable(code)
        return render_template("trading/quote.html", listing=listing, quote=None, window=window,
                               errors=error.field_errors() or {"units": [error.message]}, values=request.form,
                               refusal=error), error.status  # fmt: skip
    commit_saved(session, order)
    flash(_("Order %(code)s is held for you until %(moment)s.", code=order.code,
            moment=local_time(order.hold_expires_at)), "success")  # fmt: skip
    return redirect(url_for("trading.order_page", code=order.code))


@bp.get("/orders")
@page_role_required()
def my_orders():
    """The signed-in person's orders as a buyer, newest first."""
    page = list_orders(session=get_session(), user=current_user, status=request.args.get("status") or None,
                       cursor=_cursor(), per_page=50)  # fmt: skip
    elsewhere = remote_orders_of(session=get_session(), buyer=current_user, limit=100)
    groups = groups_of(session=get_session(), buyer=current_user)
    return render_template("trading/orders.html", page=page, title=_("My orders"), mode="buyer", elsewhere=elsewhere,
                           titles=_titles(page), groups=groups,
                           titles_elsewhere=_titles_by_code(elsewhere))  # fmt: skip


def _titles(page) -> dict[int, str]:
    """The titles of the listings a page of orders names, in one query: a code alone says little to a person."""
    ids = {order.listing_id for order in page.items}
    if not ids:
        return {}
    return dict(get_session().execute(select(Listing.id, Listing.title).where(Listing.id.in_(ids))).all())


def _titles_by_code(records) -> dict[str, str]:
    """The titles of the listings that orders held elsewhere name, as this node's copies have them."""
    codes = {record.listing_code for record in records}
    if not codes:
        return {}
    return dict(get_session().execute(select(Listing.code, Listing.title).where(Listing.code.in_(codes))).all())


def _cursor() -> str | None:
    value = request.args.get("cursor", "")
    return value if ascii_digits(value) and 0 < len(value) <= 10 else None


@bp.get("/sales")
@page_role_required("seller")
def sales():
    """Orders of the seller's listings, by status and listing."""
    status = request.args.get("status") if request.args.get("status") in ORDER_STATUS_FILTER else None
    listing_code = request.args.get("listing") or None
    page = list_orders(session=get_session(), user=current_user, as_role="seller", status=status,
                       listing_code=listing_code, cursor=_cursor(), per_page=50)  # fmt: skip
    listings = listings_of_seller(session=get_session(), seller=current_user)
    return render_template("trading/orders.html", page=page, title=_("Sales"), mode="seller", listings=listings,
                           status=status, listing_code=listing_code, titles=_titles(page))  # fmt: skip


@bp.get("/operator/orders")
@page_role_required("operator")
def all_orders():
    """Every order of this node, for its operators."""
    status = request.args.get("status") if request.args.get("status") in ORDER_STATUS_FILTER else None
    page = list_orders(session=get_session(), user=current_user, as_role="operator", status=status,
                       cursor=_cursor(), per_page=50)  # fmt: skip
    return render_template("trading/orders.html", page=page, title=_("All orders"), mode="operator", status=status,
                           titles=_titles(page))  # fmt: skip


@bp.get("/notifications")
@page_role_required()
def notifications():
    """What happened to the orders the person bought or sold."""
    notes = notifications_for(session=get_session(), user=current_user, now=utcnow())
    return render_template("trading/notifications.html", notes=notes)


def order_view(order: Order, errors: dict | None = None, status: int = 200, values=None):
    """The order page; after a refused form, with its errors beside the fields and what was typed (`values`)."""
    session = get_session()
    listing = session.get(Listing, order.listing_id)
    events = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
    now = utcnow()
    remaining = None
    if order.status == "held" and order.hold_expires_at and order.hold_expires_at > now:
        remaining = int((order.hold_expires_at - now).total_seconds() // 60)
    return render_template(
        "trading/order.html", order=order, listing=listing, events=events, remaining=remaining,
        is_buyer=current_user.id == order.buyer_id, is_seller=can_sell(current_user, order),
        is_operator=is_operator(current_user), errors=errors or {}, values=values or {},
    ), status  # fmt: skip


@bp.get("/orders/<code>")
@page_role_required()
def order_page(code: str):
    """One order: status, hold, total, how to pay, access, what happened (one held elsewhere: read there now)."""
    if held_elsewhere(code, current_app.config["NODE_CODE"]):
        session = get_session()
        record = find_remote_order(session=session, code=code, viewer=current_user)
        about_to_write()  # the read ends here: nothing held open while the origin is asked
        refresh_remote_order(session=session, record=record, now=utcnow())
        session.commit()
        return _remote_order_view(record)
    return order_view(find_order(session=get_session(), code=code, viewer=current_user))


_ACTIONS = {"cancel", "confirm", "access", "report"}


@bp.post("/orders/<code>/<action>")
@page_role_required()
def order_action(code: str, action: str):
    """Cancel, confirm (invoice paid), give access, or report not delivered, from the order page."""
    if action not in _ACTIONS:
        abort(404)
    session = get_session()
    if held_elsewhere(code, current_app.config["NODE_CODE"]):
        return _remote_order_action(code, action)
    order = find_order(session=session, code=code, viewer=current_user)
    form, now = request.form, utcnow()
    text = form.get(
        {"cancel": "reason", "confirm": "reference", "access": "access_details", "report": "note"}[action], ""
    ).strip()
    try:
        if len(text) > 4000 or any(ord(c) < 32 and c not in "\r\n\t" for c in text):
            raise DomainError("Too long, or holds control characters.", field="text")
        if action == "cancel":
            cancel_order(session=session, order=order, actor=current_user, reason=text, now=now,
                         free_cancel_hours=current_app.config["FREE_CANCEL_HOURS"])  # fmt: skip
        elif action == "confirm":
            if not text:
                raise DomainError("Give the bank transfer's reference.", field="reference")
            confirm_order(session=session, order=order, actor=current_user, reference=text, now=now)
        elif action == "access":
            give_access(session=session, order=order, actor=current_user, details=text, now=now)
        else:
            report_not_delivered(session=session, order=order, actor=current_user, note=text, now=now)
    except DomainError as error:
        session.rollback()
        order = find_order(session=session, code=code, viewer=current_user)
        flash(translate_message(error.message), "error")
        return order_view(order, error.field_errors(), error.status)
    commit_saved(session, order)
    flash({"cancel": _("Order cancelled."), "confirm": _("Payment recorded: the order is confirmed."),
           "access": _("Access details saved; the buyer sees them now."),
           "report": _("Reported: the seller and the operators see the flag.")}[action], "success")  # fmt: skip
    return redirect(url_for("trading.order_page", code=order.code))


def _remote_order_view(record, errors: dict | None = None, status: int = 200):
    listing = find_listing(session=get_session(), code=record.listing_code)
    now = utcnow()
    remaining = None
    if record.status == "held" and record.hold_expires_at and record.hold_expires_at > now:
        remaining = int((record.hold_expires_at - now).total_seconds() // 60)
    page = render_template("trading/remote_order.html", record=record, order=record.document, listing=listing,
                           remaining=remaining, origin_url=node_url(record.origin), errors=errors or {})  # fmt: skip
    return page, status


def _remote_order_action(code: str, action: str):
    """An order held elsewhere is cancelled at its origin; the other actions are the origin's own pages'."""
    if action != "cancel":
        abort(404)
    session = get_session()
    record = find_remote_order(session=session, code=code, viewer=current_user)
    reason = request.form.get("reason", "").strip()
    session.commit()  # nothing held open while the origin is asked
    try:
        if len(reason) > 2000 or any(ord(c) < 32 and c not in "\r\n\t" for c in reason):
            raise DomainError("Too long, or holds control characters.", field="reason")
        cancel_remote_order(session=session, record=record, reason=reason, now=utcnow())
    except DomainError as error:
        session.rollback()
        flash(error.message, "error")
        return _remote_order_view(record, error.field_errors(), error.status)
    session.commit()
    flash(_("Order cancelled at node %(node)s.", node=record.origin), "success")
    return redirect(url_for("trading.order_page", code=record.code))
