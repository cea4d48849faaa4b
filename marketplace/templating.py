"""Jinja filters and globals shared by every page."""

from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, current_app, request

from .identity.regions import PROVINCES, province_name
from .models.types import CST

CURRENCY_SIGNS = {"cny": "¥", "hkd": "HK$", "mop": "MOP$", "usd": "US$", "eur": "€"}


def money(minor_units: int | None, currency: str = "cny") -> str:
    """`2050, 'cny'` → `¥20.50`."""
    if minor_units is None:
        return "—"
    return f"{CURRENCY_SIGNS.get(currency, currency.upper() + ' ')}{minor_units / 100:,.2f}"


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC moment shown in China Standard Time."""
    return moment.astimezone(CST).strftime(fmt) + " CST" if moment else "—"


def url_with(**changes) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    args = {k: v for k, v in request.args.items()}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters.update(money=money, local_time=local_time, province=province_name)
    app.jinja_env.globals.update(
        url_with=url_with,
        PROVINCES=PROVINCES,
    )

    @app.context_processor
    def _node():
        return {"node": {"code": current_app.config["NODE_CODE"], "role": current_app.config["NODE_ROLE"]}}
