"""`POST /api/v1/matches` at the API boundary (PROTOCOL.md §8): a demand in, ranked offers out."""

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..i18n.messages import N_
from ..identity.regions import PROVINCES
from ..inputs import Text
from ..listings.schemas import MAX_PRICE, city_code_field, moment_field
from ..listings.vocabulary import CURRENCIES, RESOURCE_TYPES
from .matching import Demand

MAX_LIMIT = 50
MAX_AMOUNT = 1_000_000


class MatchSchema(Schema):
    """A demand: what, how many, when, at what price at most, where, how close to the buyer."""

    resource_type = fields.String(load_default="gpu", validate=validate.OneOf(RESOURCE_TYPES))
    gpu_models = fields.List(Text(validate=validate.Length(min=1, max=64)), load_default=list,
                             validate=validate.Length(max=10))  # fmt: skip
    gpus = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT),
                          metadata={"description": "GPUs wanted (resource_type gpu)"})  # fmt: skip
    units = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT),
                           metadata={"description": "Units wanted (other resource types)"})  # fmt: skip
    start = moment_field(required=True)
    end = moment_field(required=True)
    max_price_per_gpu_hour = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_PRICE),
        metadata={"description": "In minor units (fen) of the currency"},
    )
    regions = fields.List(fields.String(validate=validate.OneOf(tuple(PROVINCES),
                                                                error="Not a GB/T 2260 province-level code.")),
                          load_default=list, validate=validate.Length(max=40))  # fmt: skip
    near_city = city_code_field(metadata={"description": "The buyer's GB/T 2260 city: offers carry the estimate"})
    max_latency_ms = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=10_000))
    one_datacenter = fields.Boolean(load_default=False)
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    limit = fields.Integer(strict=True, load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))

    @validates_schema(skip_on_field_errors=True)
    def _check(self, data: dict, **_kw) -> None:
        gpu = data["resource_type"] == "gpu"
        if gpu and "units" in data:
            raise ValidationError(N_("Ask for GPUs (gpus) in a GPU demand, not units."), "units")
        if not gpu and "gpus" in data:
            raise ValidationError(N_("Ask for units (units) in this demand, not GPUs."), "gpus")
        if gpu and "gpus" not in data:
            raise ValidationError(N_("Say how many GPUs are wanted."), "gpus")
        if not gpu and "units" not in data:
            raise ValidationError(N_("Say how many units are wanted."), "units")
        if not gpu and (data.get("gpu_models") or data.get("max_price_per_gpu_hour") is not None):
            name = "gpu_models" if data.get("gpu_models") else "max_price_per_gpu_hour"
            raise ValidationError(N_("Applies to GPU demands only."), name)
        for name in ("start", "end"):
            if data[name].timestamp() % 3600:
                raise ValidationError(N_("Windows start and end on whole hours."), name)
        if data["end"] <= data["start"]:
            raise ValidationError(N_("Must be after start."), "end")
        if data.get("max_latency_ms") is not None and not data.get("near_city"):
            raise ValidationError(N_("Give near_city (the buyer's city) with max_latency_ms."), "near_city")

    @post_load
    def _demand(self, data: dict, **_kw) -> dict:
        data["demand"] = Demand(
            resource_type=data["resource_type"], amount=data.get("gpus") or data["units"], start=data["start"],
            end=data["end"], currency=data.get("currency", "cny"),
            gpu_models=tuple(dict.fromkeys(m.strip() for m in data["gpu_models"])),
            max_price_per_gpu_hour=data.get("max_price_per_gpu_hour"), regions=tuple(dict.fromkeys(data["regions"])),
            near_city=data.get("near_city"), max_latency_ms=data.get("max_latency_ms"),
            one_datacenter=data["one_datacenter"], limit=data["limit"],
        )  # fmt: skip
        return data


class OfferPartSchema(Schema):
    """Units of one listing in an offer, and what they cost."""

    listing_code = fields.String()
    origin = fields.String()
    units = fields.Integer()
    total = fields.Integer()


class OfferSchema(Schema):
    """One offer: its parts, total, what it provides and its estimated latency."""

    parts = fields.List(fields.Nested(OfferPartSchema))
    total = fields.Integer()
    currency = fields.String()
    gpus = fields.Integer(allow_none=True, metadata={"description": "GPUs provided (GPU demands), ≥ those asked"})
    units = fields.Integer(allow_none=True, metadata={"description": "Units provided (other demands)"})
    price_per_gpu_hour = fields.Integer(
        allow_none=True, metadata={"description": "Total ÷ (GPUs asked × hours), rounded up"}
    )
    estimated_latency_ms = fields.Float(allow_none=True)


class MatchResultSchema(Schema):
    """The answer of `POST /api/v1/matches`."""

    offers = fields.List(fields.Nested(OfferSchema))
    considered = fields.Integer()
    excluded = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "With no offer: listings each requirement excluded"},
    )


def offer_document(offer) -> dict:
    """An offer as §8 writes it."""
    demand, gpu = offer.demand, offer.demand.per_gpu
    return {
        "parts": [{"listing_code": p.listing.code, "origin": p.listing.origin, "units": p.units, "total": p.total}
                  for p in offer.parts],
        "total": offer.total, "currency": demand.currency,
        "gpus": offer.provides if gpu else None,
        **({} if gpu else {"units": offer.provides}),
        "price_per_gpu_hour": -(-offer.price_per_hour_asked.numerator // offer.price_per_hour_asked.denominator)
        if gpu else None,
        "estimated_latency_ms": None if offer.estimated_latency_ms is None else round(offer.estimated_latency_ms, 2),
    }  # fmt: skip


def result_document(result) -> dict:
    """The answer of `POST /api/v1/matches`."""
    answer = {"offers": [offer_document(offer) for offer in result.offers], "considered": result.considered}
    if result.excluded is not None:
        answer["excluded"] = result.excluded
    return answer
