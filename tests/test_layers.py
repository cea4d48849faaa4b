"""The packages import downwards only, in the order docs/ARCHITECTURE.md gives (import-linter's layers)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_packages_import_downwards_only():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_hides_inside_a_function():
    # An import inside a function to dodge a cycle means the layering is wrong (Alembic's, for `flask db`, aside).
    hidden = []
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s+(from \.|import marketplace|from marketplace)", line):
                hidden.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hidden == []


def test_the_layers_in_the_docs_are_the_layers_enforced():
    documented = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    config = (ROOT / ".importlinter").read_text()
    layers = re.search(r"layers =\n((?:    .+\n)+)", config).group(1).split("\n")
    for layer in filter(None, (line.strip() for line in layers)):
        for package in layer.split(" | "):
            assert f"`{package.removeprefix('marketplace.')}`" in documented, f"{package} is not in ARCHITECTURE.md"
