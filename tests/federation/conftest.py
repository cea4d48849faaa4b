"""Federation tests: every node keeps its signing keys in a file of its own."""

import pytest


@pytest.fixture
def keys_file(app, tmp_path, monkeypatch):
    """Point the app at a fresh, empty key file for this test."""
    path = tmp_path / "signing_keys.json"
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(path))
    return path


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """One migrated SQLite database that every in-process node starts from."""
    from ..conftest import migrated_app

    path = tmp_path_factory.mktemp("template") / "node.sqlite3"
    app = migrated_app(f"sqlite:///{path}")
    app.extensions["db"].engine.dispose()
    return str(path)


@pytest.fixture
def federation(tmp_path, template_database):
    """National N0 and regional nodes R11 and R44, registered and active, HTTP routed between them."""
    from .nodes import Federation, copy_sqlite, node_app

    nodes = Federation()
    for code, role in (("N0", "national"), ("R11", "regional"), ("R44", "regional")):
        database = tmp_path / f"{code}.sqlite3"
        copy_sqlite(template_database, str(database))
        nodes.apps[code] = node_app(
            code=code, role=role, database=str(database), keys_file=str(tmp_path / f"{code}.keys")
        )
    nodes.route_http()
    nodes.register("R11")
    nodes.register("R44")
    yield nodes
    nodes.dispose()
