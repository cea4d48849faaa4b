"""GB/T 2260 prefecture-level cities (six-digit codes) and the coordinates of their seats.

The table is cpca's `resources/adcodes.csv` (PyPI package cpca, MIT licence: every GB/T 2260
division with the longitude and latitude of its seat). It is read as a data file, without importing
cpca (whose matcher loads pandas). The English names are in `cities_en.json`, written by
scripts/city_names.py from the same table.
"""

import csv
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..i18n.messages import N_
from .regions import PROVINCES_ZH

SOURCE = "cpca (PyPI) resources/adcodes.csv"
CITY_HINT = N_("Not a GB/T 2260 city code (six digits, e.g. 520100 for Guiyang).")
# A municipality's districts and counties sit under "市辖区" / "县"; the city is the municipality itself.
_UNDER_MUNICIPALITY = {"市辖区"}
# Where the table lags the standard: a city merged into another (莱芜市 into 济南市, 2019) is no code any more,
# and a prefecture made a city under a new code (那曲地区 542400 became 那曲市 540600, 2017) has the new one.
_MERGED = {"371200"}
_RENUMBERED = {"542400": ("540600", "那曲市")}
# The withdrawn codes still name where they were, for documents written with them (another node's listings,
# stored as their origin signed them): never offered, but understood.
FORMER_CODES = {"371200": "370100", "542400": "540600"}


@dataclass(frozen=True)
class City:
    """A prefecture-level city: its code, its name in the standard, and its seat's coordinates."""

    code: str
    name: str
    latitude: float
    longitude: float

    @property
    def latin_name(self) -> str:
        """The name as English text writes it: `Guiyang`, `Xi'an`, `Qiandongnan`, `Urumqi`."""
        return english_names().get(self.code, self.name)


ENGLISH_NAMES = Path(__file__).with_name("cities_en.json")


@lru_cache(maxsize=1)
def english_names() -> dict[str, str]:
    """The cities' English names by code, as scripts/city_names.py wrote them (pinyin, read once: the
    dictionary that makes them takes 56 MB, which no worker should hold for a label)."""
    return json.loads(ENGLISH_NAMES.read_text(encoding="utf-8"))


def _adcodes_path() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The cpca package (requirements.txt) is not installed: it holds the city table.")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


@lru_cache(maxsize=1)
def cities() -> dict[str, City]:
    """Every prefecture-level city with coordinates, by six-digit code, in code order."""
    found: dict[str, City] = {}
    with _adcodes_path().open(encoding="utf-8", newline="") as table:
        for row in csv.DictReader(table):
            code, name = row["adcode"][:6], row["name"]
            # cpca writes twelve digits; a prefecture is XXYY00 with YY not 00 (XX0000 is the province).
            if row["adcode"][6:].strip("0") or code[4:] != "00" or code[2:4] == "00":
                continue
            if not row["latitude"] or not row["longitude"] or name == "县":
                continue  # groupings without a seat (e.g. 省直辖县级行政区划), Chongqing's counties
            if name in _UNDER_MUNICIPALITY:
                name = PROVINCES_ZH.get(code[:2], name)
            if code in _MERGED:
                continue
            code, name = _RENUMBERED.get(code, (code, name))
            found[code] = City(code, name, float(row["latitude"]), float(row["longitude"]))
    return dict(sorted(found.items()))


def find_city(code: str | None) -> City | None:
    """The city of a GB/T 2260 six-digit code (a withdrawn one: the city it is part of now), or None."""
    return cities().get(FORMER_CODES.get(code, code)) if code else None


def city_label(code: str | None, locale: str = "zh_CN") -> str:
    """How pages name a city code: `贵阳市 (520100)`, and in English `Guiyang 贵阳市 (520100)`; empty for none."""
    city = find_city(code)
    if city is None:
        return code or ""
    if locale == "zh_CN":
        return f"{city.name} ({city.code})"
    return f"{city.latin_name} {city.name} ({city.code})"


def city_name(code: str | None, locale: str = "zh_CN") -> str | None:
    """A city code's name alone, in the page's language (`深圳市`, `Shenzhen`); None for an unknown code."""
    city = find_city(code)
    if city is None:
        return None
    return city.name if locale == "zh_CN" else city.latin_name


@lru_cache(maxsize=2)
def city_choices(locale: str = "zh_CN") -> tuple[tuple[str, str], ...]:
    """(code, label) of every city in `locale`, for the select lists of forms."""
    return tuple((code, city_label(code, locale)) for code in cities())
