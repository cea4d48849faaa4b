"""The catalogue holds every string the interface shows, each with its Chinese, compiled as committed."""

import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Every string marked in templates/ and marketplace/, extracted afresh as scripts/translations.sh does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(["bash", str(ROOT / "scripts" / "translations.sh"), "extract", str(pot)],
                   check=True, env={"PYBABEL": pybabel, "PATH": "/usr/bin:/bin"})  # fmt: skip
    with pot.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def chinese():
    with (CATALOGUE / "messages.po").open("rb") as fh:
        return read_po(fh, locale="zh_Hans_CN")


def test_every_marked_string_is_in_the_catalogue(extracted, chinese):
    missing = _ids(extracted) - _ids(chinese)
    assert not missing, f"not in the catalogue (bash scripts/translations.sh update): {sorted(map(str, missing))}"


def test_the_catalogue_holds_no_string_the_code_no_longer_marks(extracted, chinese):
    stale = _ids(chinese) - _ids(extracted)
    assert not stale, f"no longer marked anywhere: {sorted(map(str, stale))}"


def test_every_string_has_a_chinese_translation_with_the_same_placeholders(chinese):
    for message in chinese:
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"untranslated or fuzzy: {source!r}"
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(source)), source
            # English words in the source (outside placeholders) mean Chinese characters in the translation
            words = re.search(r"[a-z]{3}", PLACEHOLDER.sub("", source))
            assert re.search(r"[\u4e00-\u9fff]", string) or not words, f"left in English: {source!r}"


def test_the_committed_compiled_catalogue_is_current(chinese):
    fresh = BytesIO()
    write_mo(fresh, chinese)
    fresh.seek(0)
    with (CATALOGUE / "messages.mo").open("rb") as fh:
        committed = read_mo(fh)
    compiled = read_mo(fresh)
    assert _pairs(committed) == _pairs(compiled), "run: bash scripts/translations.sh compile"


def _pairs(catalog) -> set:
    return {(str(m.id), str(m.string)) for m in catalog if m.id}
