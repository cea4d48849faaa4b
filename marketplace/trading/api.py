"""`/api/v1`: availability, quotes and orders of this node's listings (PROTOCOL.md §8)."""

import re

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..accounts.auth import api_auth_required, bearer_user
from ..config import hold_seconds_for, payment_providers
from ..db import about_to_write, get_session
from ..errors import DomainError, NotFound
from ..listings.services import can_see, find_listing
from ..models.types import utcnow
from . import capacity
from .queries import list_orders
from .remote import (
    cancel_remote_order,
    find_remote_order,
    held_elsewhere,
    place_elsewhere,
    refresh_remote_order,
    remote_orders_of,
    shown_document,
)
from .schemas import (
    AvailabilitySchema,
    CancelSchema,
    ConfirmSchema,
    OrderCreateSchema,
    OrderListArgsSchema,
    OrderPageSchema,
    OrderSchema,
    QuoteSchema,
    WindowSchema,
    body_fingerprint,
)
from .services import (
    cancel_order,
    confirm_order,
    find_order,
    listing_for_sale,
    order_saved,
    place_order,
    quote_order,
)

listings_blp = Blueprint("trading_listings_api", __name__, url_prefix="/api/v1/listings", description="Availability")
orders_blp = Blueprint("orders_api", __name__, url_prefix="/api/v1/orders", description="Orders")
_SECURED = [{"bearerAuth": []}]
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def availability_of(listing, now) -> list[dict]:
    """Free units over the rest of the window: fresh from the orders at the origin, the copy's elsewhere."""
    if listing.status == "draft":
        return []  # a draft is not for sale, and may not have a window or a quantity yet
    if listing.origin == current_app.config["NODE_CODE"]:
        spans = capacity.live_spans(get_session(), listing.id, now=now)
        published = capacity.capacity_of(listing, spans, now)
    else:
        published = listing.capacity
    if published is not None:
        return published
    start = capacity.horizon_start(listing, now)
    if start >= listing.available_until:
        return []
    return [{"from": start, "until": listing.available_until, "free": listing.quantity}]


@listings_blp.route("/<code>/availability")
class Availability(MethodView):
    @listings_blp.response(200, AvailabilitySchema)
    @listings_blp.alt_response(404, description="No such listing, or a draft of someone else")
    def get(self, code):
        """Free units of a listing over the rest of its window."""
        listing = find_listing(session=get_session(), code=code)
        if listing is None or not can_see(bearer_user(), listing):
            raise NotFound(f"No listing {code.upper()}.")
        return {"capacity": availability_of(listing, utcnow())}


@listings_blp.route("/<code>/quote")
class QuoteView(MethodView):
    @listings_blp.arguments(WindowSchema(unknown=RAISE))
    @listings_blp.response(200, QuoteSchema)
    @listings_blp.alt_response(409, description="not_for_sale")
    def post(self, data, code):
        """What an order would cost and whether its units are free; changes nothing, needs no account."""
        session = get_session()
        node_code = current_app.config["NODE_CODE"]
        listing = listing_for_sale(session=session, code=code, viewer=bearer_user(), node_code=node_code)
        quote = quote_order(session=session, listing=listing, now=utcnow(), **data)
        session.rollback()
        return {"total": quote.price.total, "currency": quote.price.currency, "lines": quote.price.lines,
                "free": quote.free, "available": quote.available, "listing_version": quote.listing_version,
                "as_of": quote.as_of}  # fmt: skip


def commit_saved(session, order, *, created: bool = True) -> None:
    """Commit a view's change to an order, then announce it (order_saved: payments acts on what is committed)."""
    session.commit()
    if created:
        order_saved.send(current_app._get_current_object(), order=order, session=session)


def hold_and_commit(session, *, listing, buyer, window: dict, provider: str, idempotency, buyer_node=None):
    """Hold `window`'s units of a listing of this node (its `units`, `start`, `end`, `expected_total`) and commit:
    (the order, 201), or (the first order, 200) for a repeat of an idempotent request."""
    config = current_app.config
    order, created = place_order(
        session=session, listing=listing, buyer=buyer, units=window["units"], start=window["start"], end=window["end"],
        now=utcnow(), node_code=config["NODE_CODE"], payment_provider=provider,
        hold_seconds=hold_seconds_for(config, provider), expected_total=window.get("expected_total"),
        idempotency=idempotency, buyer_node=buyer_node,
    )  # fmt: skip
    commit_saved(session, order, created=created)
    return order, 201 if created else 200


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header, checked; None without one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise DomainError("1 to 255 visible ASCII characters.", field="Idempotency-Key", location="headers")
    return key


@orders_blp.route("")
class OrderCollection(MethodView):
    @orders_blp.doc(security=_SECURED)
    @api_auth_required()
    @orders_blp.arguments(OrderListArgsSchema(unknown=RAISE), location="query")
    @orders_blp.response(200, OrderPageSchema)
    def get(self, args):
        """The caller's orders (`as=seller`: their sales; `as=operator`: every order of the node), newest first.

        `held=elsewhere`: the caller's orders held at other nodes, as their origins last answered.
        """
        if args["held"] == "elsewhere":
            return _held_elsewhere_page(args)
        page = list_orders(session=get_session(), user=bearer_user(), as_role=args["as_"], status=args.get("status"),
                           listing_code=args.get("listing_code"), cursor=args.get("cursor"),
                           per_page=args["per_page"])  # fmt: skip
        return {"items": page.items, "per_page": page.per_page, "next_cursor": page.next_cursor}

    @orders_blp.doc(security=_SECURED)
    @api_auth_required("buyer")
    @orders_blp.arguments(OrderCreateSchema(unknown=RAISE))
    @orders_blp.response(201, OrderSchema)
    @orders_blp.alt_response(200, description="A repeat with the same Idempotency-Key and body: the first order")
    @orders_blp.alt_response(409, description="capacity_short, price_changed or not_for_sale")
    def post(self, data):
        """Hold units of a listing for a window: the order, `held` until paid or confirmed."""
        key = idempotency_key()
        session, config = get_session(), current_app.config
        if origin := held_elsewhere(data["listing_code"], config["NODE_CODE"]):  # ordered there, on the buyer's behalf
            record, created = place_elsewhere(session=session, buyer=bearer_user(), origin=origin, window=data, key=key,
                                              now=utcnow())  # fmt: skip
            return jsonify(shown_document(record)), 201 if created else 200
        offered = payment_providers(config)
        provider = data.get("payment_provider") or offered[0]
        if provider not in offered:
            raise DomainError(f"This node takes {' and '.join(offered)} payments only.", field="payment_provider")
        listing = listing_for_sale(session=session, code=data["listing_code"], viewer=bearer_user(),
                                   node_code=config["NODE_CODE"], lock=True)  # fmt: skip
        return hold_and_commit(session, listing=listing, buyer=bearer_user(), window=data, provider=provider,
                               idempotency=(key, body_fingerprint(data)) if key else None)  # fmt: skip


@orders_blp.route("/<code>")
class OrderItem(MethodView):
    @orders_blp.doc(security=_SECURED)
    @api_auth_required()
    @orders_blp.response(200, OrderSchema)
    @orders_blp.alt_response(404, description="No such order, or not the caller's to see")
    def get(self, code):
        """An order: for its buyer, the listing's seller and the node's operators (one held elsewhere: read there)."""
        session = get_session()
        if held_elsewhere(code, current_app.config["NODE_CODE"]):
            record = find_remote_order(session=session, code=code, viewer=bearer_user())
            about_to_write()  # the read ends here: nothing held open while the origin is asked
            refresh_remote_order(session=session, record=record, now=utcnow())
            session.commit()
            return jsonify(shown_document(record))
        return find_order(session=get_session(), code=code, viewer=bearer_user())


@orders_blp.route("/<code>/cancel")
class OrderCancel(MethodView):
    @orders_blp.doc(security=_SECURED)
    @api_auth_required()
    @orders_blp.arguments(CancelSchema(unknown=RAISE))
    @orders_blp.response(200, OrderSchema)
    def post(self, data, code):
        """Cancel a held order (buyer, seller, operator); a confirmed one is refunded by the seller or an operator."""
        session = get_session()
        if held_elsewhere(code, current_app.config["NODE_CODE"]):
            record = find_remote_order(session=session, code=code, viewer=bearer_user())
            session.commit()  # nothing held open while the origin is called
            cancel_remote_order(session=session, record=record, reason=data["reason"], now=utcnow())
            session.commit()
            return jsonify(shown_document(record))
        order = find_order(session=session, code=code, viewer=bearer_user())
        cancel_order(session=session, order=order, actor=bearer_user(), reason=data["reason"], now=utcnow(),
                     free_cancel_hours=current_app.config["FREE_CANCEL_HOURS"])  # fmt: skip
        commit_saved(session, order)
        return order


@orders_blp.route("/<code>/confirm")
class OrderConfirm(MethodView):
    @orders_blp.doc(security=_SECURED)
    @api_auth_required()
    @orders_blp.arguments(ConfirmSchema(unknown=RAISE))
    @orders_blp.response(200, OrderSchema)
    @orders_blp.alt_response(409, description="hold_expired")
    def post(self, data, code):
        """Record the bank transfer of an invoice order and confirm it (the listing's seller or an operator)."""
        session = get_session()
        order = find_order(session=session, code=code, viewer=bearer_user())
        confirm_order(session=session, order=order, actor=bearer_user(), reference=data["reference"], now=utcnow())
        commit_saved(session, order)
        return order


def _held_elsewhere_page(args):
    cursor = int(args["cursor"]) if args.get("cursor") else None
    records = remote_orders_of(session=get_session(), buyer=bearer_user(), cursor=cursor, limit=args["per_page"] + 1)
    more = len(records) > args["per_page"]
    records = records[: args["per_page"]]
    return jsonify({"items": [shown_document(record) for record in records], "per_page": args["per_page"],
                    "next_cursor": str(records[-1].id) if more else None})  # fmt: skip
