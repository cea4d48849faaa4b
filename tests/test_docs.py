"""The documentation stands alone: its links stay inside the repository and lead somewhere.

A clone has no files beside the checkout, so a link such as `../outside/SPEC.md` is a
broken link for every reader; so is a relative link to a file or heading that is not there.
The federation index must also list every machine-facing route the program serves, and
the figures the identification-code page states are recounted here.
"""

import os
import re
import unicodedata
from pathlib import Path

import pytest

from marketplace import create_app
from marketplace.identity.codes import check_character
from marketplace.identity.regions import PROVINCES

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "instance", "__pycache__", ".pytest_cache", ".ruff_cache"}
FEDERATION_INDEX = ROOT / "docs" / "federation" / "README.md"

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+[\"'(][^)]*)?\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def markdown_files(root: Path) -> list[Path]:
    """Every Markdown file under `root`, leaving out tool and dependency folders (never walked into)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIP_DIRS]
        found += [Path(folder) / name for name in files if name.lower().endswith((".md", ".markdown"))]
    return sorted(found)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans: examples there are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links_in(text: str) -> list[str]:
    """The targets of inline links, images, reference definitions and HTML links in Markdown text."""
    prose = _prose(text)
    targets = [m.group(1) for pattern in (_INLINE_LINK, _REFERENCE, _HTML_LINK) for m in pattern.finditer(prose)]
    return [target[1:-1] if target.startswith("<") and target.endswith(">") else target for target in targets]


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text (duplicates numbered -1, -2, ...)."""
    anchors: set[str] = set()
    for match in _HEADING.finditer(_FENCE.sub("", text)):
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))  # a link shows its text
        kept = "".join(ch for ch in title.lower() if ch in " -_" or unicodedata.category(ch)[0] in "LN")
        slug = kept.replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def link_problems(root: Path) -> list[str]:
    """What is wrong with the relative links of every Markdown file under `root`."""
    root = root.resolve()
    problems = []
    for source in markdown_files(root):
        text = source.read_text(encoding="utf-8")
        where = source.relative_to(root)
        for target in links_in(text):
            if _SCHEME.match(target) or target.startswith("//"):
                continue  # http(s), mailto: the web, not the repository
            path_part, _, fragment = target.partition("#")
            if not path_part:
                if fragment and fragment not in heading_anchors(text):
                    problems.append(f"{where}: #{fragment} is no heading of this file")
                continue
            base = root if path_part.startswith("/") else source.parent
            resolved = (base / path_part.lstrip("/")).resolve()
            if not resolved.is_relative_to(root):
                problems.append(f"{where}: {target} points outside the repository")
            elif not resolved.exists():
                problems.append(f"{where}: {target} does not exist")
            elif fragment and resolved.suffix.lower() == ".md":
                if fragment not in heading_anchors(resolved.read_text(encoding="utf-8")):
                    problems.append(f"{where}: {target}: #{fragment} is no heading of {path_part}")
    return problems


def test_no_markdown_file_links_outside_the_repository_or_to_nothing():
    assert markdown_files(ROOT), "no Markdown files found: the walk is broken"
    assert link_problems(ROOT) == []


def test_the_checker_finds_links_out_of_the_repository_and_to_missing_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "a.md").write_text("# Alpha\n\n## Second part\n")
    (repo / "README.md").write_text(
        "See [the standard](../outside/SPEC.md), [a](docs/a.md), [gone](docs/gone.md),\n"
        "[part](docs/a.md#second-part), [no part](docs/a.md#third), [web](https://example.cn/x.md),\n"
        "[top](#top), [ref][r] and `[in code](missing.md)`.\n\n"
        "```\n[in a fence](missing-too.md)\n```\n\n"
        "[r]: <docs/missing ref.md>\n\n# Top\n"
    )
    assert sorted(link_problems(repo)) == [
        "README.md: ../outside/SPEC.md points outside the repository",
        "README.md: docs/a.md#third: #third is no heading of docs/a.md",
        "README.md: docs/gone.md does not exist",
        "README.md: docs/missing ref.md does not exist",
    ]


def test_heading_anchors_follow_githubs_rules():
    text = "# People: the national identity\n## The change feed, down the tree\n## `price_unit` & co\n# Top\n# Top\n"
    assert heading_anchors(text) == {
        "people-the-national-identity", "the-change-feed-down-the-tree", "price_unit--co", "top", "top-1",
    }  # fmt: skip


_ROUTE_PREFIXES = (
    "/api/v1/",
    "/federation/",
    "/registry/v1/",
    "/oauth/",
    "/.well-known/",
    "/healthz",
    "/metrics",
    "/api/openapi",
    "/payments/stripe/",
)


def _documented_endpoints() -> dict[str, str]:
    """Path -> state ("implemented", "being built") of every endpoint in the index's table."""
    endpoints = {}
    for line in FEDERATION_INDEX.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        for path in re.findall(r"`(?:[A-Z]+ )?(/[^`\s]*)`", cells[0]):
            endpoints[path] = cells[3]
    return endpoints


def _served_paths(monkeypatch) -> set[str]:
    """The machine-facing routes of a national and a regional node, written as the docs write them."""
    monkeypatch.setenv("SECRET_KEY", "test-secret")  # never a key file in the checkout's instance/
    paths = set()
    for role, code in (("national", "N0"), ("regional", "R44")):
        app = create_app({"NODE_ROLE": role, "NODE_CODE": code, "DATABASE_URL": "sqlite://", "TESTING": True})
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "<id>" if m.group(1).endswith("_id") else f"<{m.group(1)}>",
                          rule.rule)  # fmt: skip
            if path.startswith(_ROUTE_PREFIXES) or path == "/api/docs":
                paths.add(path)
        app.extensions["db"].engine.dispose()
    return paths


def test_the_endpoint_table_lists_every_route_and_only_routes_that_exist(monkeypatch):
    documented, served = _documented_endpoints(), _served_paths(monkeypatch)
    assert "/api/v1/listings" in documented and "/registry/v1/resolve/<code>" in served
    assert sorted(served - set(documented)) == [], "routes the federation index does not list"
    implemented = {path for path, state in documented.items() if state == "implemented"}
    assert sorted(implemented - served) == [], "listed as implemented but not served"
    being_built = {path for path, state in documented.items() if state == "being built"}
    assert sorted(being_built & served) == [], "served already: mark them implemented"


def test_the_swap_figures_of_the_identification_code_page():
    """72 of the 36 x 36 x 36 (state, first, second) combinations let a swap through: 1 in 648."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    # The character before the pair takes the running state through all 36 values.
    slips = sum(
        check_character("R44", x + a + b + "00000") == check_character("R44", x + b + a + "00000")
        for x in alphabet
        for a in alphabet
        for b in alphabet
        if a != b
    )
    assert slips == 72
    assert 36**3 // slips == 648


@pytest.mark.parametrize("serial", ["00000A7Z", "ZM8V4WKJ"])
def test_of_the_regional_codes_only_r12_and_r21_survive_swapping_their_digits(serial):
    unnoticed = {
        f"R{province}"
        for province in PROVINCES
        if province[0] != province[1]
        and check_character(f"R{province}", serial) == check_character(f"R{province[::-1]}", serial)
    }
    assert unnoticed == {"R12", "R21"}
