"""The fixed words of the listing document: types, units, currencies, statuses."""

from flask_babel import lazy_gettext as _l

from ..i18n.messages import N_

RESOURCE_TYPES = ("gpu", "cpu", "storage", "network", "model_service", "agent_service")
STATUSES = ("draft", "published", "paused", "retired")
CURRENCIES = ("cny", "hkd", "mop", "usd", "eur")  # all with two minor-unit digits

# English names: the API's messages use them, whatever the client's language.
RESOURCE_TYPE_NAMES = {
    "gpu": N_("GPU server"),
    "cpu": N_("CPU compute"),
    "storage": N_("Storage"),
    "network": N_("Network"),
    "model_service": N_("Model as a service"),
    "agent_service": N_("Agent as a service"),
}

PRICE_UNIT_NAMES = {
    "gpu_hour": N_("per GPU-hour"),
    "hour": N_("per hour"),
    "vcpu_hour": N_("per vCPU-hour"),
    "month": N_("per month"),
    "gb_month": N_("per GB-month"),
    "gbps_month": N_("per Gbps-month"),
    "million_tokens": N_("per million tokens"),
    "request": N_("per request"),
}
# Labels for pages are lazy: they are read in the language of the page that shows them.
RESOURCE_TYPE_LABELS = {key: _l(name) for key, name in RESOURCE_TYPE_NAMES.items()}
PRICE_UNIT_LABELS = {key: _l(name) for key, name in PRICE_UNIT_NAMES.items()}
PRICE_UNITS = tuple(PRICE_UNIT_NAMES)

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
