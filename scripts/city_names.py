"""Write marketplace/identity/cities_en.json: every GB/T 2260 city's English name, by code.

    .venv/bin/python scripts/city_names.py           write the file
    .venv/bin/python scripts/city_names.py --check   exit 1 if the file differs from what would be written

An English name is the pinyin of the Chinese one without tones (pypinyin, a development requirement: its
dictionary takes 56 MB, so the nodes read this file instead), the level of the division left out, with an
apostrophe before a syllable that starts with a vowel (西安 Xi'an); but for the cities English knows by
another name, listed below.
"""

import json
import re
import sys
from pathlib import Path

from pypinyin import lazy_pinyin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.identity.cities import ENGLISH_NAMES, cities  # noqa: E402

# What the pinyin leaves out: the level of the division, and an autonomous prefecture's peoples
# (黔东南苗族侗族自治州 is Qiandongnan in English, as 贵阳市 is Guiyang).
_PEOPLES = "苗|侗|布依|藏|羌|彝|朝鲜|土家|哈尼|傣|景颇|白|傈僳|回|蒙古|哈萨克|柯尔克孜|壮"
_DIVISION = re.compile(rf"(?:(?:(?:{_PEOPLES})族?)+自治州|地区|市|盟)$")
# Cities whose English name is not the pinyin of their characters: names from another of China's languages
# (Hohhot, Urumqi, Lhasa...), and characters read otherwise in a place name than elsewhere (长治 Changzhi).
_ENGLISH = {
    "长治市": "Changzhi", "吕梁市": "Lüliang", "呼和浩特市": "Hohhot", "鄂尔多斯市": "Ordos",
    "呼伦贝尔市": "Hulunbuir", "巴彦淖尔市": "Bayannur", "乌兰察布市": "Ulanqab", "锡林郭勒盟": "Xilingol",
    "阿拉善盟": "Alxa", "朝阳市": "Chaoyang", "哈尔滨市": "Harbin", "漯河市": "Luohe", "拉萨市": "Lhasa",
    "日喀则市": "Shigatse", "昌都市": "Qamdo", "林芝市": "Nyingchi", "那曲市": "Nagqu", "阿里地区": "Ngari",
    "乌鲁木齐市": "Urumqi", "克拉玛依市": "Karamay", "吐鲁番市": "Turpan", "博尔塔拉蒙古自治州": "Bortala",
    "巴音郭楞蒙古自治州": "Bayingolin", "阿克苏地区": "Aksu", "克孜勒苏柯尔克孜自治州": "Kizilsu",
    "喀什地区": "Kashgar", "和田地区": "Hotan", "伊犁哈萨克自治州": "Ili", "阿勒泰地区": "Altay",
}  # fmt: skip


def english_name(name: str) -> str:
    """A city's name as English text writes it."""
    if name in _ENGLISH:
        return _ENGLISH[name]
    syllables = lazy_pinyin(_DIVISION.sub("", name) or name)
    text = syllables[0] + "".join(("'" if s[0] in "aeo" else "") + s for s in syllables[1:])
    return text[:1].upper() + text[1:]


def written() -> str:
    """The file's text."""
    names = {code: english_name(city.name) for code, city in cities().items()}
    return json.dumps(names, ensure_ascii=False, indent=0) + "\n"


def main() -> int:
    text = written()
    if "--check" in sys.argv:
        if ENGLISH_NAMES.read_text(encoding="utf-8") != text:
            print(f"{ENGLISH_NAMES} is out of date: run scripts/city_names.py", file=sys.stderr)
            return 1
        return 0
    ENGLISH_NAMES.write_text(text, encoding="utf-8")
    print(f"wrote {ENGLISH_NAMES} ({text.count(chr(10)) - 2} cities)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
