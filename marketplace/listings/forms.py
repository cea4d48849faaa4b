"""Between the listing form on a page and the listing schema.

People type prices in yuan and times in China Standard Time; the schema wants
minor units and RFC 3339. Validation itself stays in the schema.
"""

from datetime import datetime
from decimal import Decimal

from ..models import Listing
from ..models.types import CST
from .schemas import MAX_PRICE
from .vocabulary import SPEC_FIELDS

CST_OFFSET = "+08:00"
_TEXT_FIELDS = ("title", "description", "resource_type", "region", "city", "datacenter", "currency", "price_unit")
_NUMBER_FIELDS = ("latency_ms", "quantity")
_DATETIME_FIELDS = ("available_from", "available_until")
FORM_FIELD_FOR = {"unit_price": "price"}  # schema field -> form field, where they differ


def form_to_document(form) -> tuple[dict, dict[str, list[str]]]:
    """Raw schema input from a submitted form, and errors of the form's own conversions."""
    raw: dict = {}
    errors: dict[str, list[str]] = {}
    for name in _TEXT_FIELDS:
        if name in form:
            raw[name] = form[name].strip()
    for name in (*SPEC_FIELDS, *_NUMBER_FIELDS):
        value = form.get(name, "").strip()
        if value:
            raw[name] = value
        elif name in SPEC_FIELDS:
            raw[name] = None  # an emptied spec field is cleared
    for name in _DATETIME_FIELDS:
        value = form.get(name, "").strip()
        if value:
            raw[name] = value + (":00" if len(value) == 16 else "") + CST_OFFSET
    price = form.get("price", "").strip()
    if price:
        amount = _amount(price)
        if amount is None:
            errors["price"] = ["Not a number; write the price in yuan, e.g. 20.50."]
        else:
            raw["unit_price"] = int((amount * 100).to_integral_value())
    return raw, errors


def _amount(text: str) -> Decimal | None:
    """A finite decimal amount of sensible size, or None."""
    try:
        amount = Decimal(text)
    except ArithmeticError:  # InvalidOperation, Overflow
        return None
    if not amount.is_finite() or abs(amount) > Decimal(MAX_PRICE) / 100:
        return None
    return amount


def document_to_form(listing: Listing) -> dict[str, str]:
    """A stored listing as form values."""
    values: dict[str, str] = {}
    for name in (*_TEXT_FIELDS, *SPEC_FIELDS, *_NUMBER_FIELDS):
        value = getattr(listing, name)
        values[name] = "" if value is None else str(value)
    for name in _DATETIME_FIELDS:
        values[name] = _cst_input(getattr(listing, name))
    values["price"] = f"{Decimal(listing.unit_price) / 100:.2f}"
    return values


def _cst_input(moment: datetime) -> str:
    local = moment.astimezone(CST)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def form_errors(schema_errors: dict) -> dict[str, list[str]]:
    """Schema errors keyed by the form's field names."""
    return {FORM_FIELD_FOR.get(field, field): messages for field, messages in schema_errors.items()}
