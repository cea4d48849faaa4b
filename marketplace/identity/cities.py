"""GB/T 2260 prefecture-level cities (six-digit codes) and the coordinates of their seats.

The table is cpca's `resources/adcodes.csv` (PyPI package cpca, MIT licence: every GB/T 2260
division with the longitude and latitude of its seat). It is read as a data file, without importing
cpca (whose matcher loads pandas). English names are the pinyin of the Chinese ones (pypinyin), but
for the few cities English knows by another name, listed here.
"""

import csv
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pypinyin import lazy_pinyin

from ..i18n.messages import N_
from .regions import PROVINCES_ZH

SOURCE = "cpca (PyPI) resources/adcodes.csv"
CITY_HINT = N_("Not a GB/T 2260 city code (six digits, e.g. 520100 for Guiyang).")
# A municipality's districts and counties sit under "市辖区" / "县"; the city is the municipality itself.
_UNDER_MUNICIPALITY = {"市辖区"}


# What a name's pinyin leaves out: the level of the division, and an autonomous prefecture's peoples
# (黔东南苗族侗族自治州 is Qiandongnan in English, as 贵阳市 is Guiyang).
_PEOPLES = "苗|侗|布依|藏|羌|彝|朝鲜|土家|哈尼|傣|景颇|白|傈僳|回|蒙古|哈萨克|柯尔克孜|壮"
_DIVISION = re.compile(rf"(?:(?:(?:{_PEOPLES})族?)+自治州|地区|市|盟)$")
# Cities whose English name is not the pinyin of their characters: names from another of China's languages
# (Hohhot, Urumqi, Lhasa...), and characters read otherwise in a place name than elsewhere (长治 Changzhi).
_ENGLISH = {
    "长治市": "Changzhi", "吕梁市": "Lüliang", "呼和浩特市": "Hohhot", "鄂尔多斯市": "Ordos",
    "呼伦贝尔市": "Hulunbuir", "巴彦淖尔市": "Bayannur", "乌兰察布市": "Ulanqab", "锡林郭勒盟": "Xilingol",
    "阿拉善盟": "Alxa", "朝阳市": "Chaoyang", "哈尔滨市": "Harbin", "漯河市": "Luohe", "拉萨市": "Lhasa",
    "日喀则市": "Shigatse", "昌都市": "Qamdo", "林芝市": "Nyingchi", "那曲地区": "Nagqu", "阿里地区": "Ngari",
    "乌鲁木齐市": "Urumqi", "克拉玛依市": "Karamay", "吐鲁番市": "Turpan", "博尔塔拉蒙古自治州": "Bortala",
    "巴音郭楞蒙古自治州": "Bayingolin", "阿克苏地区": "Aksu", "克孜勒苏柯尔克孜自治州": "Kizilsu",
    "喀什地区": "Kashgar", "和田地区": "Hotan", "伊犁哈萨克自治州": "Ili", "阿勒泰地区": "Altay",
}  # fmt: skip


@dataclass(frozen=True)
class City:
    """A prefecture-level city: its code, its name in the standard, and its seat's coordinates."""

    code: str
    name: str
    latitude: float
    longitude: float

    @property
    def latin_name(self) -> str:
        """The name in pinyin without tones, as English text writes it: `Guiyang`, `Xi'an`, `Qiandongnan`."""
        return latin_name(self.name)


def latin_name(name: str) -> str:
    """A Chinese place name in pinyin without tones, its level left out; an apostrophe before a syllable that
    starts with a vowel, as pinyin's rule has it (西安 Xi'an, not Xian)."""
    if name in _ENGLISH:
        return _ENGLISH[name]
    syllables = lazy_pinyin(_DIVISION.sub("", name) or name)
    text = syllables[0] + "".join(("'" if s[0] in "aeo" else "") + s for s in syllables[1:])
    return text[:1].upper() + text[1:]


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
            found[code] = City(code, name, float(row["latitude"]), float(row["longitude"]))
    return dict(sorted(found.items()))


def find_city(code: str | None) -> City | None:
    """The city of a GB/T 2260 six-digit code, or None."""
    return cities().get(code) if code else None


def city_label(code: str | None, locale: str = "zh_CN") -> str:
    """How pages name a city code: `贵阳市 (520100)`, and in English `Guiyang 贵阳市 (520100)`; empty for none."""
    city = find_city(code)
    if city is None:
        return code or ""
    if locale == "zh_CN":
        return f"{city.name} ({city.code})"
    return f"{city.latin_name} {city.name} ({city.code})"


@lru_cache(maxsize=2)
def city_choices(locale: str = "zh_CN") -> tuple[tuple[str, str], ...]:
    """(code, label) of every city in `locale`, for the select lists of forms."""
    return tuple((code, city_label(code, locale)) for code in cities())
