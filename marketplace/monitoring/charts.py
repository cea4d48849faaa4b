"""Geometry of line charts drawn as inline SVG on the server: no script, no library, readable without CSS."""

from datetime import datetime
from math import ceil

from ..models.types import CST

WIDTH, HEIGHT, LEFT, TOP, BOTTOM, RIGHT = 640, 200, 48, 12, 28, 12
PALETTE = ("series-1", "series-2", "series-3", "series-4", "series-5")


def _nice_top(value: float) -> float:
    """A round number at or above `value` for the y axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return ceil(value)


def line_chart(
    series: dict[str, list[tuple[datetime, float]]],
    *,
    tick_label: str = "%(value)s",
    start: datetime | None = None,
    end: datetime | None = None,
    date_labels: bool = False,
) -> dict:
    """Polylines of `series` (label → [(moment, value)]) over a shared time axis, with ticks and labels.

    Moments are UTC; labels on the time axis are in China Standard Time (hours, or dates). `tick_label`
    writes a value of the y axis with its unit, in the reader's language (`"%(value)s s"`, `"¥%(value)s"`).
    """
    points = [point for values in series.values() for point in values]
    if not points:
        return {"empty": True, "width": WIDTH, "height": HEIGHT + TOP + BOTTOM}
    first = start or min(moment for moment, _ in points)
    last = end or max(moment for moment, _ in points)
    span = max((last - first).total_seconds(), 1.0)
    top = _nice_top(max(value for _, value in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - first).total_seconds() / span * plot_w, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h - value / top * plot_h, 1)

    lines = [{"label": label, "class": PALETTE[index % len(PALETTE)],
              "points": " ".join(f"{x(moment)},{y(value)}" for moment, value in values),
              "end": {"x": x(values[-1][0]), "y": y(values[-1][1]), "value": values[-1][1]}}
             for index, (label, values) in enumerate(series.items()) if values]  # fmt: skip
    ticks = [{"text": tick_label % {"value": f"{top * share:g}"}, "y": y(top * share)} for share in (0, 0.5, 1)]
    labels = []
    for index in range(5):
        moment = first + (last - first) * index / 4
        local = moment.astimezone(CST)
        labels.append({"x": x(moment), "text": local.strftime("%m-%d" if date_labels else "%H:%M")})
    return {"empty": False, "width": WIDTH, "height": TOP + plot_h + BOTTOM, "left": LEFT, "right": WIDTH - RIGHT,
            "baseline": TOP + plot_h, "lines": lines, "ticks": ticks, "labels": labels}  # fmt: skip
