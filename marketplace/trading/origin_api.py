"""`/federation/v1/orders`: the origin takes orders that another node places on a buyer's behalf (PROTOCOL.md §8).

The same ordering service as a local order (capacity rule, idempotency, price check); the buyer is the
person with the national subject the calling node names, and only the calling node reads or cancels.
"""

import hashlib

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select

from ..accounts.services import national_buyer_account
from ..config import payment_providers
from ..db import get_session
from ..errors import NotFound
from ..federation.guard import require_node_token
from ..models import Order, User
from ..models.types import utcnow
from .api import commit_saved, hold_and_commit
from .remote_schemas import FederationOrderSchema
from .schemas import CancelSchema, OrderSchema, body_fingerprint
from .services import cancel_order, listing_for_sale

blp = Blueprint("federation_orders", __name__, url_prefix="/federation/v1/orders",
                description="Orders placed by other nodes on their buyers' behalf")  # fmt: skip
_SECURED = [{"bearerAuth": []}]
SCOPE = "orders:write"


def _caller() -> str:
    return g.federation_caller["client_id"]


def _placed_by_caller(code: str) -> Order:
    """An order the calling node placed here; 404 for any other (its existence is not told)."""
    order = get_session().scalars(select(Order).where(Order.code == code.strip().upper())).first()
    own = current_app.config["NODE_CODE"]
    if order is None or order.buyer_node != _caller() or order.buyer_node == own:
        raise NotFound(f"No order {code.upper()} placed by {_caller()}.")
    return order


@blp.route("")
class FederationOrders(MethodView):
    @blp.doc(security=_SECURED)
    @require_node_token(SCOPE)
    @blp.arguments(FederationOrderSchema(unknown=RAISE))
    @blp.response(201, OrderSchema)
    @blp.alt_response(200, description="A repeat with the same idempotency_key and body: the first order")
    @blp.alt_response(409, description="capacity_short, price_changed or not_for_sale")
    def post(self, data):
        """Hold units of one of this node's listings for a buyer of the calling node: the order, `held`."""
        session, config, caller = get_session(), current_app.config, _caller()
        provider = payment_providers(config)[0]  # the origin's own choice, as for a local order without one
        buyer_data = data["buyer"]
        buyer = national_buyer_account(session=session, subject=buyer_data["sub"], email=buyer_data.get("email", ""),
                                       name=buyer_data["name"], organization=buyer_data.get("org", ""))  # fmt: skip
        listing = listing_for_sale(session=session, code=data["listing_code"], viewer=None,
                                   node_code=config["NODE_CODE"])  # fmt: skip
        # Keys are the calling node's: two nodes may send the same key for one person without meeting. Hashed,
        # so that the node's code and a key of the full 255 characters fit the column.
        key = f"{caller}:{hashlib.sha256(data['idempotency_key'].encode()).hexdigest()}"
        return hold_and_commit(session, listing=listing, buyer=buyer, window=data, provider=provider,
                               idempotency=(key, body_fingerprint(data)), buyer_node=caller)  # fmt: skip


@blp.route("/<code>")
class FederationOrder(MethodView):
    @blp.doc(security=_SECURED)
    @require_node_token(SCOPE)
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, description="No such order, or placed by another node")
    def get(self, code):
        """An order the calling node placed, as it is now."""
        return _placed_by_caller(code)


@blp.route("/<code>/cancel")
class FederationOrderCancel(MethodView):
    @blp.doc(security=_SECURED)
    @require_node_token(SCOPE)
    @blp.arguments(CancelSchema(unknown=RAISE))
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, description="invalid_transition: not held (a confirmed one is refunded by the seller)")
    def post(self, data, code):
        """Cancel, as its buyer, an order the calling node placed."""
        session = get_session()
        order = _placed_by_caller(code)
        buyer = session.get(User, order.buyer_id)
        cancel_order(session=session, order=order, actor=buyer, reason=data["reason"] or f"cancelled at {_caller()}",
                     now=utcnow(), free_cancel_hours=current_app.config["FREE_CANCEL_HOURS"])  # fmt: skip
        commit_saved(session, order)
        return order
