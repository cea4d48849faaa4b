"""The price of an order (PROTOCOL.md §8): exact rational arithmetic, rounded up once."""

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from ..i18n import _
from ..i18n.messages import N_, template_pattern
from ..listings.vocabulary import HOURS_PER_MONTH, PRICE_UNIT_LABELS, PRICE_UNIT_NAMES
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


# How an order's amount is made, in words: the English is stored in the order's lines (the same for
# every reader and every node); pages show it in the reader's language (`line_text`).
HOW = {
    "gpu_hour": N_("%(units)s × %(gpus)s GPUs × %(hours)s h"),
    "vcpu_hour": N_("%(units)s × %(vcpus)s vCPUs × %(hours)s h"),
    "hour": N_("%(units)s × %(hours)s h"),
    "month": N_("%(units)s × %(hours)s h / %(month)s h"),
    "gb_month": N_("%(units)s × %(gb)s GB × %(hours)s h / %(month)s h"),
    "gbps_month": N_("%(units)s × %(gbps)s Gbps × %(hours)s h / %(month)s h"),
    "prepaid": N_("%(units)s prepaid"),  # million_tokens, request
}
LINE = N_("%(title)s: %(how)s (%(unit)s)")
_HOW_VALUES = ("units", "gpus", "vcpus", "gb", "gbps", "hours", "month")


def amount_of(listing: Listing, units: int, hours: int) -> tuple[Fraction, str]:
    """How many price units an order takes, exactly, and how that amount is made, in words."""
    unit, month = listing.price_unit, HOURS_PER_MONTH
    words = {"units": units, "hours": hours, "month": month}
    if unit == "gpu_hour":
        amount, words["gpus"] = Fraction(units * (listing.gpu_count or 1) * hours), listing.gpu_count
    elif unit == "vcpu_hour":
        amount, words["vcpus"] = Fraction(units * (listing.vcpus or 1) * hours), listing.vcpus
    elif unit == "hour":
        amount = Fraction(units * hours)
    elif unit == "month":
        amount = Fraction(units * hours, month)
    elif unit == "gb_month":
        amount, words["gb"] = Fraction(units * hours * (listing.storage_gb or 0), month), listing.storage_gb
    elif unit == "gbps_month":
        gbps = _exact(listing.bandwidth_gbps or 0)
        amount, words["gbps"] = gbps * units * hours / month, decimal_text(gbps)
    else:  # million_tokens, request
        amount, unit = Fraction(units), "prepaid"
    return amount, HOW[unit] % words


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
    unit = PRICE_UNIT_NAMES.get(listing.price_unit, listing.price_unit)
    total = math.ceil(listing.unit_price * amount)
    line = {
        "description": LINE % {"title": listing.title, "how": how, "unit": unit},
        "amount": decimal_text(amount),
        "unit_price": listing.unit_price,
        "subtotal": total,
    }
    return Price(total=total, currency=listing.currency, lines=[line])


_UNITS_BY_NAME = {name: key for key, name in PRICE_UNIT_NAMES.items()}


_NUMBER = r"[0-9.]+|None"
# A title may hold ": " and brackets of its own: it is whatever comes before the last ": " of the line.
_LINE_PATTERN = template_pattern(LINE, title=".*", unit=r"[^()]+")
_HOW_PATTERNS = [(template_pattern(how, **dict.fromkeys(_HOW_VALUES, _NUMBER)), how) for how in HOW.values()]


def line_text(description: str) -> str:
    """A line's stored English description in the reader's language (unchanged if it is not one we write)."""
    line = _LINE_PATTERN.match(description)
    unit = _UNITS_BY_NAME.get(line["unit"]) if line else None
    if unit is None:
        return description
    for pattern, template in _HOW_PATTERNS:
        how = pattern.match(line["how"])
        if how:
            return _(LINE, title=line["title"], how=_(template, **how.groupdict()), unit=PRICE_UNIT_LABELS[unit])
    return description
