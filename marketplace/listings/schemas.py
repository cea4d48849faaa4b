"""The listing document and search parameters as marshmallow schemas."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..identity.codes import NODE_CODE_RE
from ..identity.regions import PROVINCES
from .search import SORT_ORDERS
from .vocabulary import CURRENCIES, PRICE_UNITS, RESOURCE_TYPES, SPEC_FIELDS, STATUSES, TYPE_RULES

MAX_PRICE = 10**12  # minor units: ten billion yuan
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000  # deeper than this, clients continue with `cursor`


def _text(max_len: int, min_len: int = 0, **kw) -> fields.String:
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kw)


def _moment(**kw) -> fields.AwareDateTime:
    """An RFC 3339 date-time that must carry its timezone offset."""
    hint = "an RFC 3339 date-time with a timezone offset, e.g. 2026-12-01T08:00:00+08:00"
    messages = {"invalid": f"Not {hint}.", "invalid_awareness": f"Missing the timezone: use {hint}."}
    return fields.AwareDateTime(format="iso", error_messages=messages, **kw)


def _optional_int(low: int, high: int) -> fields.Integer:
    return fields.Integer(allow_none=True, strict=False, validate=validate.Range(min=low, max=high))


def _optional_number(low: float, high: float, min_inclusive: bool = True) -> fields.Float:
    return fields.Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=low, max=high, min_inclusive=min_inclusive)
    )


class SellerSchema(Schema):
    """Who sells a listing: public names only."""

    name = fields.String()
    org = fields.String()


class ListingSchema(Schema):
    """Listing document v1 (PROTOCOL.md §3). Read-only fields are refused on input."""

    code = fields.String(dump_only=True)
    origin = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    title = _text(200, 3, required=True)
    description = _text(5000, load_default="")
    resource_type = fields.String(required=True, validate=validate.OneOf(RESOURCE_TYPES))
    gpu_model = _text(64, 1, allow_none=True)
    gpu_count = _optional_int(1, 1024)
    gpu_memory_gb = _optional_int(1, 4096)
    vcpus = _optional_int(1, 1_000_000)
    memory_gb = _optional_int(1, 100_000_000)
    storage_gb = _optional_int(1, 10**12)
    bandwidth_gbps = _optional_number(0, 100_000, min_inclusive=False)
    model_name = _text(100, 1, allow_none=True)
    tokens_per_second = _optional_number(0, 10_000_000, min_inclusive=False)
    region = fields.String(
        required=True, validate=validate.OneOf(tuple(PROVINCES), error="Not a GB/T 2260 province-level code.")
    )
    city = _text(64, load_default="")
    datacenter = _text(128, load_default="")
    latency_ms = _optional_number(0, 10_000)
    unit_price = fields.Integer(
        required=True, strict=False, validate=validate.Range(min=1, max=MAX_PRICE, error="Must be greater than 0.")
    )
    currency = fields.String(load_default="cny", validate=validate.OneOf(CURRENCIES))
    price_unit = fields.String(required=True, validate=validate.OneOf(PRICE_UNITS))
    quantity = fields.Integer(required=True, strict=False, validate=validate.Range(min=0, max=1_000_000_000))
    available_from = _moment(required=True)
    available_until = _moment(required=True)
    seller = fields.Method("_dump_seller", dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True, format="iso")

    def get_attribute(self, obj, attr, default):
        """Plain attribute access: marshmallow's generic lookup probes SQLModel objects slowly."""
        return getattr(obj, attr, default)

    def _dump_seller(self, listing) -> dict:
        return {"name": listing.seller_name, "org": listing.seller_org}

    @validates_schema(skip_on_field_errors=True)
    def _check_document(self, data: dict, partial=False, **_kw) -> None:
        # A partial (PATCH) load is checked again as a whole once merged.
        if partial:
            return
        errors = document_rule_errors(data)
        if errors:
            raise ValidationError(errors)


def document_rule_errors(data: dict) -> dict[str, list[str]]:
    """Rules across fields: what the resource type needs and allows, and the window."""
    errors: dict[str, list[str]] = {}
    rules = TYPE_RULES[data["resource_type"]]
    for name in SPEC_FIELDS:
        present = data.get(name) is not None
        if name in rules["required"] and not present:
            errors[name] = [f"Required for resource_type {data['resource_type']}."]
        elif present and name not in rules["allowed"]:
            errors[name] = [f"Does not apply to resource_type {data['resource_type']}."]
    if data["price_unit"] not in rules["price_units"]:
        allowed = ", ".join(sorted(rules["price_units"]))
        errors["price_unit"] = [f"Not a price unit for resource_type {data['resource_type']}; use one of: {allowed}."]
    if data["available_until"] <= data["available_from"]:
        errors["available_until"] = ["Must be after available_from."]
    return errors


class ListingCreateSchema(ListingSchema):
    """What a seller sends to publish: a new listing is a draft or published."""

    status = fields.String(load_default="published", validate=validate.OneOf(("draft", "published")))


class ListingPatchSchema(ListingSchema):
    """A partial change; `status` moves a listing between draft, published and paused."""

    status = fields.String(validate=validate.OneOf(("draft", "published", "paused")))


class SearchArgsSchema(Schema):
    """Search parameters of PROTOCOL.md §4, shared by the API and the search page."""

    q = _text(200)
    resource_type = fields.String(validate=validate.OneOf(RESOURCE_TYPES))
    gpu_model = _text(64, 1)
    min_gpus = fields.Integer(validate=validate.Range(min=1, max=1024))
    region = fields.String(validate=validate.OneOf(tuple(PROVINCES), error="Not a GB/T 2260 province-level code."))
    max_price = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE))
    max_latency_ms = fields.Float(allow_nan=False, validate=validate.Range(min=0))
    available_at = _moment()
    origin = fields.String(validate=validate.Regexp(rf"^{NODE_CODE_RE}$", error="Not a node code."))
    sort = fields.String(load_default="newest", validate=validate.OneOf(tuple(SORT_ORDERS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    cursor = _text(200)
    include_stale = fields.Boolean(
        load_default=False, metadata={"description": "Also show listings whose origin node has been unreachable"}
    )

    @validates_schema(skip_on_field_errors=True)
    def _check_depth(self, data: dict, **_kw) -> None:
        if (data["page"] - 1) * data["per_page"] >= MAX_OFFSET:
            raise ValidationError(f"Pages reach the first {MAX_OFFSET} results; continue deeper with cursor.", "page")


class SearchResultSchema(Schema):
    """One page of search results."""

    items = fields.List(fields.Nested(ListingSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    total_exact = fields.Boolean()
    next_cursor = fields.String(allow_none=True)
