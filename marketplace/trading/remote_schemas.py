"""Orders across nodes at the boundary: what a node sends an origin, what it reads back, order groups."""

import hashlib

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..listings.schemas import moment_field
from ..models.trading import ORDER_STATUSES, PAYMENT_STATUSES
from .schemas import LineSchema, OrderCreateSchema, WindowSchema, _text, body_fingerprint

MAX_PARTS = 20
IDEMPOTENCY_KEY = validate.Regexp(r"^[\x21-\x7e]{1,255}$", error="1 to 255 visible ASCII characters.")


class NationalBuyerSchema(Schema):
    """The person an order is for: their national subject ties it to them at every node."""

    sub = _text(64, 1, required=True)
    name = _text(100, 1, required=True)
    org = _text(200, load_default="")
    email = _text(254, load_default="")


class FederationOrderSchema(OrderCreateSchema):
    """`POST /federation/v1/orders`: an order a node places at the origin on its buyer's behalf."""

    idempotency_key = fields.String(required=True, validate=IDEMPOTENCY_KEY)
    buyer = fields.Nested(NationalBuyerSchema, required=True)


class _PaymentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    provider = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(PAYMENT_STATUSES))
    url = fields.Url(allow_none=True, load_default=None, schemes={"https", "http"})


class OriginOrderSchema(Schema):
    """An origin's order document as this node reads it back (fields it does not know are kept, not read)."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, validate=validate.Length(max=20))
    listing_code = fields.String(required=True, validate=validate.Length(max=20))
    origin = fields.String(required=True, validate=validate.Length(max=8))
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    units = fields.Integer(required=True, strict=True)
    start = moment_field(required=True)
    end = moment_field(required=True)
    total = fields.Integer(required=True, strict=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    lines = fields.List(fields.Nested(LineSchema(unknown=EXCLUDE)), load_default=list)
    hold_expires_at = moment_field(allow_none=True, load_default=None)
    payment = fields.Nested(_PaymentSchema, required=True)


class GroupPartSchema(WindowSchema):
    """One part of an order group: a listing (of any node), its units and window."""

    listing_code = _text(40, 1, required=True)
    expected_total = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**62))


class OrderGroupCreateSchema(Schema):
    """`POST /api/v1/order-groups`: the parts of an offer, held all together or not at all."""

    parts = fields.List(fields.Nested(GroupPartSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_PARTS))  # fmt: skip

    @validates_schema
    def _distinct(self, data, **_kw):
        seen = set()
        for part in data.get("parts", []):
            key = (part["listing_code"].strip().upper(), part["start"], part["end"])
            if key in seen:
                raise ValidationError("A listing and window appear twice: add their units into one part.", "parts")
            seen.add(key)


def group_fingerprint(data: dict) -> str:
    """What makes two group bodies equal: the same parts in the same order (times as instants)."""
    parts = [body_fingerprint(part | {"payment_provider": None}) for part in data["parts"]]
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


class GroupPartOutSchema(Schema):
    position = fields.Integer()
    listing_code = fields.String()
    origin = fields.String()
    units = fields.Integer()
    start = fields.AwareDateTime(format="iso", attribute="starts_at")
    end = fields.AwareDateTime(format="iso", attribute="ends_at")
    outcome = fields.String(metadata={"description": "held | failed | cancelled | release_pending | not_tried"})
    reason = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    order = fields.Dict(allow_none=True, metadata={"description": "The order (the origin's document), once held"})


class OrderGroupSchema(Schema):
    """An order group: its parts, each with its order or why it failed."""

    id = fields.String(attribute="public_id")
    status = fields.String(metadata={"description": "held | failed"})
    parts = fields.List(fields.Nested(GroupPartOutSchema))
    total = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    failure = fields.Dict(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
