"""The listing document and search parameters as marshmallow schemas."""

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, validate, validates_schema

from ..i18n.messages import N_
from ..identity.cities import CITY_HINT, find_city
from ..identity.codes import NODE_CODE_RE
from ..identity.regions import PROVINCES
from ..inputs import Moment, Text, WholeNumber
from .search import SORT_ORDERS
from .vocabulary import (
    CURRENCIES,
    PRICE_UNIT_NAMES,
    PRICE_UNITS,
    RESOURCE_TYPE_NAMES,
    RESOURCE_TYPES,
    SPEC_FIELDS,
    STATUSES,
    TYPE_RULES,
)

MAX_PRICE = 10**12  # minor units: ten billion yuan
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000  # deeper than this, clients continue with `cursor`


def _text(max_len: int, min_len: int = 0, **kw) -> Text:
    return Text(validate=validate.Length(min=min_len, max=max_len), **kw)


def _moment(**kw) -> Moment:
    """An RFC 3339 date-time that must carry its timezone offset, within the years the program handles."""
    hint = "an RFC 3339 date-time with a timezone offset, e.g. 2026-12-01T08:00:00+08:00"
    messages = {"invalid": f"Not {hint}.", "invalid_awareness": f"Missing the timezone: use {hint}."}
    return Moment(format="iso", error_messages=messages, **kw)


moment_field = _moment  # for the schemas of other packages


def _known_city(code: str) -> None:
    if find_city(code) is None:
        raise ValidationError(CITY_HINT)


def city_code_field(**kw) -> fields.String:
    """A GB/T 2260 prefecture-level city code, one of identity.cities."""
    return fields.String(validate=_known_city, **kw)


def _optional_int(low: int, high: int) -> WholeNumber:
    return WholeNumber(allow_none=True, validate=validate.Range(min=low, max=high))


def _optional_number(low: float, high: float, min_inclusive: bool = True) -> fields.Float:
    return fields.Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=low, max=high, min_inclusive=min_inclusive)
    )


MAX_CAPACITY_INTERVALS = 100
MAX_MIN_HOURS = 24 * 366 * 10

# One interval of a listing's free capacity (§3); "from" is a Python keyword, hence from_dict.
CapacityIntervalSchema = Schema.from_dict(
    {
        "from": _moment(required=True),
        "until": _moment(required=True),
        "free": fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000_000)),
    },
    name="CapacityIntervalSchema",
)


def _capacity_field(**kw) -> fields.List:
    return fields.List(
        fields.Nested(CapacityIntervalSchema),
        allow_none=True,
        validate=validate.Length(max=MAX_CAPACITY_INTERVALS),
        metadata={"description": "Free units over time, contiguous, covering the rest of the window"},
        **kw,
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
    description = _text(5000, load_default="", multiline=True)
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
    city_code = city_code_field(allow_none=True, metadata={"description": "GB/T 2260 city of the datacenter"})
    datacenter = _text(128, load_default="")
    latency_ms = _optional_number(0, 10_000)
    unit_price = WholeNumber(
        required=True, validate=validate.Range(min=1, max=MAX_PRICE, error="Must be greater than 0.")
    )
    currency = fields.String(load_default="cny", validate=validate.OneOf(CURRENCIES))
    price_unit = fields.String(required=True, validate=validate.OneOf(PRICE_UNITS))
    quantity = WholeNumber(required=True, validate=validate.Range(min=0, max=1_000_000_000))
    available_from = _moment(required=True)
    available_until = _moment(required=True)
    min_hours = fields.Integer(strict=False, load_default=1, validate=validate.Range(min=1, max=MAX_MIN_HOURS))
    # Computed by the origin from its orders; loaded only from other nodes' documents (see the subclasses).
    capacity = _capacity_field()
    seller = fields.Method("_dump_seller", dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True, format="iso")

    def get_attribute(self, obj, attr, default):
        """Plain attribute access: marshmallow's generic lookup probes SQLModel objects slowly."""
        return getattr(obj, attr, default)

    def _dump_seller(self, listing) -> dict:
        return {"name": listing.seller_name, "org": listing.seller_org}

    @post_dump
    def _leave_out_full_capacity(self, data: dict, **_kw) -> dict:
        # §3: an absent `capacity` means every unit is free throughout; `city_code` is optional.
        for name in ("capacity", "city_code"):
            if data.get(name, False) is None:
                del data[name]
        return data

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_document(self, data: dict, original=None, partial=False, **_kw) -> None:
        # Runs beside the fields' own checks, so every error is reported at once. A partial (PATCH)
        # load is checked again as a whole once merged with the stored listing.
        if partial:
            return
        errors = document_rule_errors(data, original=original)
        # A field required on its own says so itself; its message need not come twice.
        errors = {name: texts for name, texts in errors.items() if texts != [MISSING] or not self._own_required(name)}
        if errors:
            raise ValidationError(errors)

    def _own_required(self, name: str) -> bool:
        field = self.fields.get(name)
        return field is not None and field.required


MISSING = "Missing data for required field."
# Fields a draft may leave out; publishing needs every one of them.
DRAFT_OPTIONAL = ("resource_type", "region", "unit_price", "price_unit", "quantity", "available_from",
                  "available_until")  # fmt: skip


def document_rule_errors(data: dict, *, original=None) -> dict[str, list[str]]:
    """Rules across fields, in words a seller understands: what is needed to publish, what the type
    needs and allows, its price units, and the window. A field refused on its own (given in
    `original` but not loaded) is left to its own message."""
    failed = set()
    if isinstance(original, dict):
        failed = {name for name, value in original.items() if value is not None and name not in data}
    draft = data.get("status") == "draft"
    errors: dict[str, list[str]] = {}
    if not draft:
        for name in DRAFT_OPTIONAL:
            if data.get(name) is None and name not in failed:
                errors[name] = [MISSING]
    kind = data.get("resource_type")
    if kind in TYPE_RULES:
        rules, label = TYPE_RULES[kind], RESOURCE_TYPE_NAMES[kind]
        for name in SPEC_FIELDS:
            present = data.get(name) is not None
            if name in failed:
                continue
            if name in rules["required"] and not present and not draft:
                errors[name] = [f"Required for {label} listings."]
            elif present and name not in rules["allowed"]:
                errors[name] = [f"Does not apply to {label} listings; leave it empty."]
        unit = data.get("price_unit")
        if unit in PRICE_UNIT_NAMES and unit not in rules["price_units"]:
            *others, last = [PRICE_UNIT_NAMES[name] for name in PRICE_UNITS if name in rules["price_units"]]
            allowed = f"{', '.join(others)} or {last}" if others else last
            errors["price_unit"] = [f"{label} is not priced {PRICE_UNIT_NAMES[unit]}; choose {allowed}."]
    city, region = data.get("city_code"), data.get("region")
    if city and region and city[:2] != region and "city_code" not in failed:
        errors["city_code"] = [N_("The city is not in the listing's region.")]
    start, end = data.get("available_from"), data.get("available_until")
    if start is not None and end is not None and end <= start:
        errors["available_until"] = ["The end of availability must be later than its start."]
    return errors


class ListingOutSchema(ListingSchema):
    """A listing as the API answers it: a draft (seen by its seller alone) may still lack what publishing
    needs, so those fields may be null there; a published listing has every one of them."""

    resource_type = fields.String(allow_none=True, validate=validate.OneOf(RESOURCE_TYPES))
    region = fields.String(allow_none=True, validate=validate.OneOf(tuple(PROVINCES)))
    unit_price = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=MAX_PRICE))
    price_unit = fields.String(allow_none=True, validate=validate.OneOf(PRICE_UNITS))
    quantity = WholeNumber(allow_none=True, validate=validate.Range(min=0, max=1_000_000_000))
    available_from = _moment(allow_none=True)
    available_until = _moment(allow_none=True)


class ListingCreateSchema(ListingSchema):
    """What a seller sends to publish: a new listing is a draft or published.

    A draft needs only a title; a published listing needs every field ListingSchema requires.
    """

    status = fields.String(load_default="published", validate=validate.OneOf(("draft", "published")))
    capacity = _capacity_field(dump_only=True)

    def on_bind_field(self, field_name: str, field_obj) -> None:
        """Fields a draft may leave out are checked by `document_rule_errors`, which knows the status."""
        if field_name in DRAFT_OPTIONAL:
            field_obj.required = False


class ListingPatchSchema(ListingSchema):
    """A partial change; `status` moves a listing between draft, published and paused."""

    status = fields.String(validate=validate.OneOf(("draft", "published", "paused")))
    capacity = _capacity_field(dump_only=True)


class SearchArgsSchema(Schema):
    """Search parameters of PROTOCOL.md §4, shared by the API and the search page."""

    q = _text(200)
    resource_type = fields.String(validate=validate.OneOf(RESOURCE_TYPES))
    gpu_model = _text(64, 1)
    min_gpus = WholeNumber(validate=validate.Range(min=1, max=1024))
    region = fields.String(validate=validate.OneOf(tuple(PROVINCES), error="Not a GB/T 2260 province-level code."))
    price_unit = fields.String(
        validate=validate.OneOf(PRICE_UNITS),
        metadata={"description": "Only listings priced in this unit (e.g. gpu_hour); required with max_price"},
    )
    currency = fields.String(
        validate=validate.OneOf(CURRENCIES),
        metadata={"description": "Only listings priced in this currency; with max_price it defaults to cny"},
    )
    max_price = WholeNumber(
        validate=validate.Range(min=0, max=MAX_PRICE),
        metadata={
            "description": "Highest unit_price, in minor units (fen: 2050 is 20.50 yuan) of `currency` and per "
            "`price_unit`, which must be given with it: prices per GPU-hour, per month or per million tokens "
            "are never compared with each other"
        },
    )
    max_latency_ms = fields.Float(
        allow_nan=False,
        validate=validate.Range(min=0),
        metadata={"description": "Highest access latency; with near_city, highest estimated latency to the buyer"},
    )
    near_city = city_code_field(
        metadata={"description": "The buyer's GB/T 2260 city: items carry estimated_latency_ms (§10)"}
    )
    available_at = _moment()
    origin = fields.String(validate=validate.Regexp(rf"^{NODE_CODE_RE}$", error="Not a node code."))
    sort = fields.String(load_default="newest", validate=validate.OneOf(tuple(SORT_ORDERS)))
    page = WholeNumber(load_default=1, validate=validate.Range(min=1))
    per_page = WholeNumber(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    cursor = _text(200)
    include_stale = fields.Boolean(
        load_default=False, metadata={"description": "Also show listings whose origin node has been unreachable"}
    )

    start = _moment(metadata={"description": "With end: only listings with `units` free throughout [start, end)"})
    end = _moment()
    units = fields.Integer(validate=validate.Range(min=1, max=1_000_000_000))

    @validates_schema(skip_on_field_errors=True)
    def _check_depth(self, data: dict, **_kw) -> None:
        if (data["page"] - 1) * data["per_page"] >= MAX_OFFSET:
            raise ValidationError(f"Pages reach the first {MAX_OFFSET} results; continue deeper with cursor.", "page")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_window(self, data: dict, original: dict, **_kw) -> None:
        # Also beside other fields' errors, so a form shows every mistake at once: what was sent decides
        # whether a parameter is missing, what was parsed whether the window is the right way round.
        for given, needed in (("start", "end"), ("end", "start"), ("units", "start")):
            if given in original and needed not in original:
                raise ValidationError(f"Give {needed} with {given}.", needed)
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")

    @validates_schema(skip_on_field_errors=True)
    def _check_near(self, data: dict, **_kw) -> None:
        if data.get("sort") == "latency" and not data.get("near_city"):
            raise ValidationError(N_("Give near_city (the buyer's city) to sort by latency."), "near_city")

    @validates_schema
    def _like_with_like(self, data: dict, **_kw) -> None:
        if data.get("max_price") is not None and not data.get("price_unit"):
            raise ValidationError(
                N_("Say which price unit the maximum is in (price_unit, e.g. gpu_hour): prices per GPU-hour, "
                   "per month or per million tokens cannot be compared."),
                "max_price",
            )

    @post_load
    def _default_currency(self, data: dict, **_kw) -> dict:
        if data.get("max_price") is not None:
            data.setdefault("currency", "cny")  # a maximum in fen compares with prices in fen only
        return data


class SearchItemSchema(ListingSchema):
    """A listing in search results: with near_city, also the estimated latency to the buyer (§10)."""

    estimated_latency_ms = fields.Float(allow_none=True, dump_only=True)


class SearchResultSchema(Schema):
    """One page of search results."""

    items = fields.List(fields.Nested(SearchItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    total_exact = fields.Boolean()
    next_cursor = fields.String(allow_none=True)
