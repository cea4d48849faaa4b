"""Jinja filters and globals shared by every page.

Filters for people's eyes, all in the request's language (marketplace/i18n/):
`money` (fen → `¥43,100.00`), `number`, `local_time` (China Standard Time), `local_date`,
`province` (GB/T 2260), `city` (a GB/T 2260 city code and name), `industry` (GB/T 4754), `term`
(statuses, roles, stages, decisions) and
`tr` (an English message from a schema or service, translated).
"""

from urllib.parse import urlencode

from flask import Flask, current_app, request

from .i18n import current_locale, local_date, local_time, money, number
from .i18n.messages import translate_message
from .i18n.words import action_label, term
from .identity.cities import city_choices, city_label, city_name
from .identity.industries import section_name, section_names
from .identity.regions import province_name, province_names
from .models.types import CST

__all__ = ["CST", "init_app", "url_with"]  # CST: pages and their tests read times in it


def url_with(**changes) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    args = {k: v for k, v in request.args.items()}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


MUNICIPALITIES = {"11", "12", "31", "50"}  # Beijing, Tianjin, Shanghai, Chongqing (GB/T 2260)


def place(listing, province: bool = True) -> str:
    """Where a listing's capacity is, in the page's language: `广东省 深圳市`, `Guangdong, Shenzhen`.

    The city comes from its code (GB/T 2260) when the seller gave one, else from the seller's own words;
    a municipality is named once. `province=False`: the city alone.
    """
    get = listing.get if isinstance(listing, dict) else lambda name: getattr(listing, name, None)
    locale = current_locale()
    city = city_name(get("city_code"), locale) or get("city") or ""
    if not province:
        return city
    region = province_name(get("region"), locale) if get("region") else ""
    # A municipality is its own city: told by its code (Jilin city of Jilin province is not one), else by name.
    same_place = get("region") in MUNICIPALITIES if get("city_code") else city == region
    if not city or same_place:
        return region or city
    return f"{region} {city}" if locale == "zh_CN" else f"{region}, {city}" if region else city


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters.update(
        money=money,
        number=number,
        local_time=local_time,
        local_date=local_date,
        province=lambda code: province_name(code, current_locale()),
        industry=lambda letter: section_name(letter, current_locale()),
        term=term,
        tr=translate_message,
        city=lambda code: city_label(code, current_locale()),
        place=place,
        action=action_label,
    )
    app.jinja_env.globals.update(url_with=url_with, city_choices=lambda: city_choices(current_locale()))

    @app.context_processor
    def _node():
        locale = current_locale()
        return {
            "node": {"code": current_app.config["NODE_CODE"], "role": current_app.config["NODE_ROLE"]},
            "PROVINCES": province_names(locale),
            "INDUSTRY_SECTIONS": section_names(locale),
        }
