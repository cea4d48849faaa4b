"""Fixtures of the in-process federation (a pytest plugin, registered in tests/conftest.py).

National N0, regional nodes R11 and R44, and industry node IJ01 under R11, each an app with its own
database, their outbound HTTP routed to each other. Federation, sync and (later) trading tests use it.
"""

import os

import pytest
from sqlmodel import SQLModel

from marketplace.config import normalize_database_url

from .conftest import BACKENDS, PG_SCHEMA, admin_sql, migrated_app, use_schema
from .federation.nodes import Federation, copy_sqlite, node_app


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """One migrated SQLite database that every in-process node starts from."""
    path = tmp_path_factory.mktemp("template") / "node.sqlite3"
    app = migrated_app(f"sqlite:///{path}")
    app.extensions["db"].engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def national_postgresql():
    """A PostgreSQL schema for the national node, migrated once; None without TEST_DATABASE_URL."""
    if not os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    url, schema = normalize_database_url(os.environ["TEST_DATABASE_URL"]), f"{PG_SCHEMA}_national"
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    migrated_app(url, schema=schema).extensions["db"].engine.dispose()
    yield url, schema
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def national_database(request, tmp_path, template_database, national_postgresql):
    """National's database: a fresh SQLite copy, or the PostgreSQL schema emptied for this test."""
    if request.param == "sqlite":
        copy_sqlite(template_database, str(tmp_path / "N0.sqlite3"))
        return f"sqlite:///{tmp_path / 'N0.sqlite3'}", None
    url, schema = national_postgresql
    tables = ", ".join(f'{schema}."{table.name}"' for table in SQLModel.metadata.sorted_tables)
    admin_sql(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url, schema


@pytest.fixture
def federation(tmp_path, template_database, national_database):
    """The four nodes registered and active, HTTP routed between them.

    National runs on SQLite and on PostgreSQL; the regional and industry nodes on SQLite.
    """
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
