"""Federation tests: every node keeps its signing keys in a file of its own."""

import pytest

from ..conftest import BACKENDS


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


@pytest.fixture(scope="session")
def national_postgresql():
    """A PostgreSQL schema for the national node, migrated once; None without TEST_DATABASE_URL."""
    import os

    if not os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    from marketplace.config import normalize_database_url

    from ..conftest import PG_SCHEMA, _admin_sql, migrated_app

    url, schema = normalize_database_url(os.environ["TEST_DATABASE_URL"]), f"{PG_SCHEMA}_national"
    _admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    migrated_app(url, schema=schema).extensions["db"].engine.dispose()
    yield url, schema
    _admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def national_database(request, tmp_path, template_database, national_postgresql):
    """National's database: a fresh SQLite copy, or the PostgreSQL schema emptied for this test."""
    from .nodes import copy_sqlite

    if request.param == "sqlite":
        copy_sqlite(template_database, str(tmp_path / "N0.sqlite3"))
        return f"sqlite:///{tmp_path / 'N0.sqlite3'}", None
    from ..conftest import _admin_sql

    url, schema = national_postgresql
    from sqlmodel import SQLModel

    tables = ", ".join(f'{schema}."{table.name}"' for table in SQLModel.metadata.sorted_tables)
    _admin_sql(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url, schema


@pytest.fixture
def federation(tmp_path, template_database, national_database):
    """National N0, regional nodes R11 and R44, and industry node IJ01 under R11, registered and active,
    HTTP routed between them.

    National runs on SQLite and on PostgreSQL; the regional nodes on SQLite.
    """
    from ..conftest import use_schema
    from .nodes import Federation, copy_sqlite, node_app

    nodes = Federation()
    for code, role in (("N0", "national"), ("R11", "regional"), ("R44", "regional"), ("IJ01", "industry")):
        if code == "N0":
            database_url, schema = national_database
        else:
            copy_sqlite(template_database, str(tmp_path / f"{code}.sqlite3"))
            database_url, schema = f"sqlite:///{tmp_path / f'{code}.sqlite3'}", None
        parent_url = nodes.url("R11") if role == "industry" else ""
        nodes.apps[code] = node_app(code=code, role=role, database_url=database_url,
                                    keys_file=str(tmp_path / f"{code}.keys"), parent_url=parent_url)  # fmt: skip
        if schema:
            use_schema(nodes.apps[code], schema)
    nodes.route_http()
    nodes.register("R11")
    nodes.register("R44")
    nodes.register("IJ01", role="industry", parent="R11")
    yield nodes
    nodes.dispose()
