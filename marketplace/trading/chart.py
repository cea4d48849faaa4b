"""A server-drawn chart of free units over the coming weeks: SVG bars and the same numbers as a table."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models import Listing
from ..models.types import CST
from . import capacity

BLOCK_HOURS = 6
DAYS = 28
LEFT, WIDTH, HEIGHT, BAR = 34, 672, 120, 6  # a y-axis 34 px wide, then 112 blocks of 6 px
SOLD_OUT_MARK = 5  # px: a block with nothing free gets a short red bar, so that it reads apart from no bar at all


@dataclass
class Bar:
    x: int
    y: int
    height: int
    free: int
    label: str
    kind: str = "some"  # "all" free, "some" taken, "none" free (sold out), "off": outside the listing's window


@dataclass
class Chart:
    bars: list[Bar]
    days: list[tuple[str, int, int]]  # (date in CST, lowest free, highest free)
    quantity: int
    width: int = LEFT + WIDTH
    height: int = HEIGHT
    left: int = LEFT
    ticks: list[tuple[int, str]] | None = None  # (x, "MM-DD") under each Monday
    levels: list[tuple[int, int]] | None = None  # (y, units) of the y-axis: all units, half of them, none


def free_chart(listing: Listing, published: list[dict] | None, now: datetime) -> Chart:
    """Bars of the lowest free units per 6-hour block for 4 weeks (China Standard Time), and a day table."""
    first = now.astimezone(CST).replace(minute=0, second=0, microsecond=0)
    first -= timedelta(hours=first.hour % BLOCK_HOURS)
    quantity = max(listing.quantity, 1)
    bars, days, ticks = [], {}, []
    for block in range(DAYS * 24 // BLOCK_HOURS):
        start = first + timedelta(hours=block * BLOCK_HOURS)
        moments = (start + timedelta(hours=hour) for hour in range(BLOCK_HOURS))
        # Only the hours inside the listing's window count: a block it half covers is as free as that half.
        frees = [capacity.free_at(published, listing.quantity, moment) for moment in moments
                 if listing.available_from <= moment < listing.available_until]  # fmt: skip
        free = min(frees, default=0)
        kind = "off" if not frees else "none" if free == 0 else "all" if free >= listing.quantity else "some"
        height = SOLD_OUT_MARK if kind == "none" else round(HEIGHT * free / quantity)
        bars.append(Bar(LEFT + block * BAR, HEIGHT - height, height, free, f"{start:%m-%d %H:%M} CST: {free} free",
                        kind))  # fmt: skip
        day = f"{start:%Y-%m-%d}"
        if frees:  # the table, like the bars, tells only the hours the listing is offered
            low, high = days.get(day, (free, free))
            days[day] = (min(low, free), max(high, max(frees)))
        if start.hour == 0 and start.weekday() == 0:
            ticks.append((LEFT + block * BAR, f"{start:%m-%d}"))
    shown = (listing.quantity, quantity // 2, 0)
    levels = sorted({(HEIGHT - round(HEIGHT * units / quantity), units) for units in shown})
    return Chart(bars, [(day, low, high) for day, (low, high) in days.items()], listing.quantity, ticks=ticks,
                 levels=levels)  # fmt: skip
