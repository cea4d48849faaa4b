"""The fixed words of the listing document: types, units, currencies, statuses."""

from flask_babel import lazy_gettext as _l

RESOURCE_TYPES = ("gpu", "cpu", "storage", "network", "model_service", "agent_service")
STATUSES = ("draft", "published", "paused", "retired")
CURRENCIES = ("cny", "hkd", "mop", "usd", "eur")  # all with two minor-unit digits

# Labels are lazy: they are read in the language of the page that shows them.
RESOURCE_TYPE_LABELS = {
    "gpu": _l("GPU server"),
    "cpu": _l("CPU compute"),
    "storage": _l("Storage"),
    "network": _l("Network"),
    "model_service": _l("Model as a service"),
    "agent_service": _l("Agent as a service"),
}

PRICE_UNIT_LABELS = {
    "gpu_hour": _l("per GPU-hour"),
    "hour": _l("per hour"),
    "vcpu_hour": _l("per vCPU-hour"),
    "month": _l("per month"),
    "gb_month": _l("per GB-month"),
    "gbps_month": _l("per Gbps-month"),
    "million_tokens": _l("per million tokens"),
    "request": _l("per request"),
}
PRICE_UNITS = tuple(PRICE_UNIT_LABELS)

# Spec fields that apply to each resource type, the ones of them that are
# required, and the price units that make sense for it.
SPEC_FIELDS = (
    "gpu_model", "gpu_count", "gpu_memory_gb", "vcpus", "memory_gb", "storage_gb",
    "bandwidth_gbps", "model_name", "tokens_per_second",
)  # fmt: skip
TYPE_RULES = {
    "gpu": {
        "allowed": {"gpu_model", "gpu_count", "gpu_memory_gb", "vcpus", "memory_gb", "storage_gb", "bandwidth_gbps"},
        "required": {"gpu_model", "gpu_count", "gpu_memory_gb"},
        "price_units": {"gpu_hour", "hour", "month"},
    },
    "cpu": {
        "allowed": {"vcpus", "memory_gb", "storage_gb", "bandwidth_gbps"},
        "required": {"vcpus", "memory_gb"},
        "price_units": {"vcpu_hour", "hour", "month"},
    },
    "storage": {
        "allowed": {"storage_gb", "bandwidth_gbps"},
        "required": {"storage_gb"},
        "price_units": {"gb_month", "month"},
    },
    "network": {
        "allowed": {"bandwidth_gbps"},
        "required": {"bandwidth_gbps"},
        "price_units": {"gbps_month", "month", "hour"},
    },
    "model_service": {
        "allowed": {"model_name", "tokens_per_second"},
        "required": {"model_name"},
        "price_units": {"million_tokens", "request", "month"},
    },
    "agent_service": {
        "allowed": {"model_name", "tokens_per_second"},
        "required": set(),
        "price_units": {"request", "hour", "month"},
    },
}

HOURS_PER_MONTH = 730


def price_per_gpu_hour(*, unit_price: int | None, price_unit: str | None, gpu_count: int | None) -> int | None:
    """The price of one GPU for one hour, in minor units, where it can be told (a draft may lack a price)."""
    if not gpu_count or unit_price is None:
        return None
    if price_unit == "gpu_hour":
        return unit_price
    if price_unit == "hour":
        return round(unit_price / gpu_count)
    if price_unit == "month":
        return round(unit_price / gpu_count / HOURS_PER_MONTH)
    return None
