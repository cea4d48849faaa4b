"""Prices of §8's table: exact, rounded up once, lines that add up."""

from fractions import Fraction

import pytest

from marketplace.models import Listing
from marketplace.trading.pricing import decimal_text, price_order

from .helpers import at


def listing(**values) -> Listing:
    base = {"title": "T", "unit_price": 2050, "currency": "cny", "price_unit": "gpu_hour", "gpu_count": 8}
    return Listing(**(base | values))


@pytest.mark.parametrize(
    ("values", "units", "hours", "total", "amount"),
    [
        ({"price_unit": "gpu_hour"}, 2, 20, 2050 * 2 * 8 * 20, "320"),
        ({"price_unit": "vcpu_hour", "vcpus": 64, "unit_price": 12}, 1, 3, 12 * 64 * 3, "192"),
        ({"price_unit": "hour", "unit_price": 999}, 3, 5, 999 * 15, "15"),
        # 24/730 of a month: 100000 × 24 / 730 = 3287.67… → 3288, rounded up once
        ({"price_unit": "month", "unit_price": 100_000}, 1, 24, 3288, "0.032877"),
        ({"price_unit": "gb_month", "unit_price": 12, "storage_gb": 500}, 1, 730, 6000, "500"),
        # 0.1 Gbps is a tenth, not its binary neighbour: 300000 × 0.1 × 730 / 730 = 30000 exactly
        ({"price_unit": "gbps_month", "unit_price": 300_000, "bandwidth_gbps": 0.1}, 1, 730, 30_000, "0.1"),
        ({"price_unit": "million_tokens", "unit_price": 400}, 7, 1, 2800, "7"),
        ({"price_unit": "request", "unit_price": 5}, 3, 48, 15, "3"),
    ],
)
def test_the_price_table_of_section_8(values, units, hours, total, amount):
    price = price_order(listing(**values), units=units, start=at(0), end=at(hours))
    assert price.total == total
    assert [line["amount"] for line in price.lines] == [amount]
    assert sum(line["subtotal"] for line in price.lines) == price.total


def test_rounding_up_happens_once_at_the_end():
    # 1 unit × 1 h / 730 of ¥0.01 a month is a tiny fraction of a fen: the total is 1 fen, not 0
    price = price_order(listing(price_unit="month", unit_price=1), units=1, start=at(0), end=at(1))
    assert price.total == 1


def test_decimal_text_is_exact_when_it_terminates():
    assert decimal_text(Fraction(1, 8)) == "0.125"
    assert decimal_text(Fraction(1, 3)) == "0.333333"
    assert decimal_text(Fraction(40)) == "40"
