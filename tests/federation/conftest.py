"""Federation tests: every node keeps its signing keys in a file of its own (the federation fixture is in
tests/multinode.py)."""

import pytest


@pytest.fixture
def keys_file(app, tmp_path, monkeypatch):
    """Point the app at a fresh, empty key file for this test."""
    path = tmp_path / "signing_keys.json"
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(path))
    return path
