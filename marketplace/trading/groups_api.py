"""`/api/v1/order-groups`: hold every part of an offer, at this node and at others, or none (PROTOCOL.md §8)."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..accounts.auth import api_auth_required, bearer_user
from ..db import get_session
from ..errors import DomainError
from ..models.types import utcnow
from .api import idempotency_key
from .groups import Placement, find_group, group_document, place_order_group
from .remote_schemas import OrderGroupCreateSchema, OrderGroupSchema, group_fingerprint

blp = Blueprint("order_groups_api", __name__, url_prefix="/api/v1/order-groups", description="Order groups")
_SECURED = [{"bearerAuth": []}]


class GroupFailed(DomainError):
    """A part could not be held: nothing is held; the answer names the part, its reason, and the group."""


def refusal_of(document: dict) -> GroupFailed:
    """The refusal that answers a failed group: the failing part's status and reason, the whole group beside."""
    failure = document["failure"]
    message = (f"Part {failure['part'] + 1} ({failure['listing_code']} at {failure['origin']}) could not be held: "
               f"{failure['message']} Nothing is held: the parts already held were cancelled.")  # fmt: skip
    extra = {key: value for key, value in failure.items() if key not in ("status", "reason", "message", "errors")}
    part_errors = failure.get("errors") or {"listing_code": [failure["message"]]}
    return GroupFailed(message, status=failure["status"], reason=failure["reason"],
                       messages={"parts": {failure["part"]: part_errors}},
                       extra={"failed_part": extra, "group": OrderGroupSchema().dump(document)})  # fmt: skip


@blp.route("")
class OrderGroups(MethodView):
    @blp.doc(security=_SECURED)
    @api_auth_required("buyer")
    @blp.arguments(OrderGroupCreateSchema(unknown=RAISE))
    @blp.response(201, OrderGroupSchema)
    @blp.alt_response(200, description="A repeat with the same Idempotency-Key and body: the first group")
    @blp.alt_response(409, description="A part failed (its reason, e.g. capacity_short): nothing is held")
    @blp.alt_response(503, description="origin_unreachable for a part: nothing is held")
    def post(self, data):
        """Hold every part (listings of any node), or none: a part that fails cancels those already held."""
        key, session, config = idempotency_key(), get_session(), current_app.config
        placement = Placement(node_code=config["NODE_CODE"], hold_seconds=config["ORDER_HOLD_SECONDS"], now=utcnow())
        group, created = place_order_group(session=session, buyer=bearer_user(), parts=data["parts"], key=key,
                                           fingerprint=group_fingerprint(data), placement=placement)  # fmt: skip
        document = group_document(session, group)
        if group.status == "failed":
            raise refusal_of(document)
        return document, 201 if created else 200


@blp.route("/<public_id>")
class OrderGroupItem(MethodView):
    @blp.doc(security=_SECURED)
    @api_auth_required()
    @blp.response(200, OrderGroupSchema)
    def get(self, public_id):
        """A group of the caller's: its parts, their orders, or why it failed."""
        session = get_session()
        return group_document(session, find_group(session=session, public_id=public_id, viewer=bearer_user()))
