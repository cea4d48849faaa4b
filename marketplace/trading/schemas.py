"""Quotes and orders at the API boundary (PROTOCOL.md §8)."""

import hashlib
import re

import orjson
from marshmallow import Schema, ValidationError, fields, validate

from ..listings.schemas import CapacityIntervalSchema, moment_field

MAX_UNITS = 1_000_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> None:
    """PostgreSQL refuses NUL bytes and nobody means the others: refused at the boundary."""
    if _CONTROL.search(value):
        raise ValidationError("Must not contain control characters.")


def _text(max_len: int, min_len: int = 0, **kw) -> fields.String:
    return fields.String(validate=[validate.Length(min=min_len, max=max_len), _no_control], **kw)


ORDER_STATUS_FILTER = ("held", "confirmed", "cancelled", "expired", "refunded")


class WindowSchema(Schema):
    """Units and a window: what a quote and an order ask for."""

    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_UNITS))
    start = moment_field(required=True)
    end = moment_field(required=True)


class OrderCreateSchema(WindowSchema):
    """`POST /api/v1/orders`."""

    listing_code = _text(40, 1, required=True)
    payment_provider = fields.String(validate=validate.OneOf(("stripe", "invoice")))
    expected_total = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**62))


def body_fingerprint(data: dict) -> str:
    """What makes two order bodies equal: the same listing, units and provider, the same instants."""
    canonical = {
        "listing_code": data["listing_code"].strip().upper(),
        "units": data["units"],
        "start": int(data["start"].timestamp()),
        "end": int(data["end"].timestamp()),
        "payment_provider": data.get("payment_provider"),
        "expected_total": data.get("expected_total"),
    }
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


class LineSchema(Schema):
    description = fields.String()
    amount = fields.String()
    unit_price = fields.Integer()
    subtotal = fields.Integer()


class QuoteSchema(Schema):
    """A quote: the price and the free units; changes nothing."""

    total = fields.Integer()
    currency = fields.String()
    lines = fields.List(fields.Nested(LineSchema))
    free = fields.Integer()
    available = fields.Boolean()
    listing_version = fields.Integer()
    as_of = fields.AwareDateTime(format="iso")


class AvailabilitySchema(Schema):
    capacity = fields.List(fields.Nested(CapacityIntervalSchema))


class OrderSchema(Schema):
    """The order document of §8."""

    code = fields.String()
    listing_code = fields.String()
    origin = fields.String()
    status = fields.String()
    units = fields.Integer()
    start = fields.AwareDateTime(format="iso", attribute="starts_at")
    end = fields.AwareDateTime(format="iso", attribute="ends_at")
    total = fields.Integer()
    currency = fields.String()
    lines = fields.List(fields.Nested(LineSchema))
    hold_expires_at = fields.AwareDateTime(format="iso", allow_none=True)
    buyer = fields.Function(lambda o: {"name": o.buyer_name, "org": o.buyer_org, "node": o.buyer_node})
    payment = fields.Function(
        lambda o: {"provider": o.payment_provider, "status": o.payment_status, "url": o.payment_url,
                   "reference": o.payment_reference}
    )  # fmt: skip
    access_details = fields.String(allow_none=True)
    reported_at = fields.AwareDateTime(format="iso", allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")

    def get_attribute(self, obj, attr, default):
        """Plain attribute access: marshmallow's generic lookup probes SQLModel objects slowly."""
        return getattr(obj, attr, default)


class OrderListArgsSchema(Schema):
    """`GET /api/v1/orders`: whose orders, which status, and where to continue."""

    as_ = fields.String(data_key="as", load_default="buyer", validate=validate.OneOf(("buyer", "seller", "operator")))
    held = fields.String(load_default="here", validate=validate.OneOf(("here", "elsewhere")),
                         metadata={"description": "elsewhere: the caller's orders held at other nodes"})
    status = fields.String(validate=validate.OneOf(ORDER_STATUS_FILTER))
    listing_code = _text(40)
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,9}$", error="Not a cursor from this list."))


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderSchema))
    per_page = fields.Integer()
    next_cursor = fields.String(allow_none=True)


class CancelSchema(Schema):
    reason = _text(2000, load_default="")


class ConfirmSchema(Schema):
    reference = _text(200, 1, required=True)


class AccessSchema(Schema):
    access_details = _text(4000, 1, required=True)


class ReportSchema(Schema):
    note = _text(2000, load_default="")
