"""The price of an order (PROTOCOL.md §8): exact rational arithmetic, rounded up once."""

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from ..listings.vocabulary import HOURS_PER_MONTH, PRICE_UNIT_LABELS
from ..models import Listing


@dataclass(frozen=True)
class Price:
    """An order's total in minor units and the lines it is made of (their subtotals add up to it)."""

    total: int
    currency: str
    lines: list[dict]


def whole_hours(start: datetime, end: datetime) -> int:
    """The hours of a window that starts and ends on whole hours."""
    return int((end - start).total_seconds()) // 3600


def _exact(value) -> Fraction:
    """A stored float as the decimal it is written as (`0.1` is one tenth, not its binary neighbour)."""
    return Fraction(repr(float(value)))


def amount_of(listing: Listing, units: int, hours: int) -> tuple[Fraction, str]:
    """How many price units an order takes, exactly, and how that amount is made, in words."""
    unit = listing.price_unit
    if unit == "gpu_hour":
        return Fraction(units * (listing.gpu_count or 1) * hours), f"{units} × {listing.gpu_count} GPUs × {hours} h"
    if unit == "vcpu_hour":
        return Fraction(units * (listing.vcpus or 1) * hours), f"{units} × {listing.vcpus} vCPUs × {hours} h"
    if unit == "hour":
        return Fraction(units * hours), f"{units} × {hours} h"
    if unit == "month":
        return Fraction(units * hours, HOURS_PER_MONTH), f"{units} × {hours} h / {HOURS_PER_MONTH} h"
    if unit == "gb_month":
        return (
            Fraction(units * hours * (listing.storage_gb or 0), HOURS_PER_MONTH),
            f"{units} × {listing.storage_gb} GB × {hours} h / {HOURS_PER_MONTH} h",
        )
    if unit == "gbps_month":
        gbps = _exact(listing.bandwidth_gbps or 0)
        return gbps * units * hours / HOURS_PER_MONTH, f"{units} × {decimal_text(gbps)} Gbps × {hours} h / 730 h"
    return Fraction(units), f"{units} prepaid"  # million_tokens, request


def decimal_text(value: Fraction, places: int = 6) -> str:
    """A fraction as a decimal string: exact when it terminates, else rounded to `places` places."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:  # terminates
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    else:
        text = format(round(Decimal(value.numerator) / Decimal(value.denominator), places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def price_order(listing: Listing, *, units: int, start: datetime, end: datetime) -> Price:
    """`total = ceil(unit_price × amount)` with the line that shows how it is made."""
    amount, how = amount_of(listing, units, whole_hours(start, end))
    total = math.ceil(listing.unit_price * amount)
    line = {
        "description": f"{listing.title}: {how} ({PRICE_UNIT_LABELS.get(listing.price_unit, listing.price_unit)})",
        "amount": decimal_text(amount),
        "unit_price": listing.unit_price,
        "subtotal": total,
    }
    return Price(total=total, currency=listing.currency, lines=[line])
