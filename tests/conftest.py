"""Test fixtures: one app per database backend, each test inside a rolled-back transaction."""

import os
import re
import tempfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from marketplace import create_app
from marketplace.cli import alembic_config

from .factories import PASSWORD, make_user

pytest_plugins = ["tests.multinode", "tests.stripe_server.fixtures"]

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


# Each run gets its own PostgreSQL schema, so runs sharing the test database never meet.
PG_SCHEMA = f"test_run_{os.getpid()}"


def _set_schema(engine, schema: str) -> None:
    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {schema}")
        dbapi_connection.commit()


def admin_sql(url: str, statement: str) -> None:
    from marketplace.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def use_schema(app, schema: str) -> None:
    """Point a PostgreSQL app at `schema` (before its first connection)."""
    _set_schema(app.extensions["db"].engine, schema)


_KEYS_DIR = tempfile.mkdtemp(prefix="cpn-test-keys-")


def migrated_app(database_url: str, schema: str = PG_SCHEMA, **config):
    """A node app on `database_url` (its own schema on PostgreSQL), migrated to head by Alembic, with signing keys."""
    from alembic import command

    from marketplace.federation.keys import init_keys, keys_path

    settings = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SIGN_IN_LIMIT": "10000 per minute",
        "SIGN_UP_LIMIT": "10000 per minute",
        "SIGN_IN_ACCOUNT_LIMIT": "10000 per minute",
        "APPLY_LIMIT": "10000 per minute",
        "APPLY_ACCOUNT_LIMIT": "10000 per minute",
        "SIGNING_KEYS_FILE": os.path.join(_KEYS_DIR, "signing_keys.json"),  # never the checkout's instance/
    }
    app = create_app(settings | config)
    if database_url.startswith("postgresql"):
        use_schema(app, schema)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        if not keys_path().exists():
            init_keys()
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A fresh database of each backend, shared by the session's tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    from marketplace.config import normalize_database_url

    url = normalize_database_url(os.environ["TEST_DATABASE_URL"])
    admin_sql(url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
    yield url
    admin_sql(url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")


@pytest.fixture(scope="session")
def app(database_url):
    """The node under test, migrated once per backend."""
    app = migrated_app(database_url, NODE_CODE="R44", NODE_ROLE="regional")
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def db_session(app):
    """A session whose work, and every request's, is rolled back after the test."""
    database = app.extensions["db"]
    connection = database.engine.connect()
    transaction = connection.begin()
    configured = dict(database.sessionmaker.kw)  # restored as it was, for tests that use the pool itself
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = database.sessionmaker()
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
        database.sessionmaker.kw.clear()
        database.sessionmaker.kw.update(configured)


@pytest.fixture
def client(app, db_session):
    """A test client whose requests run inside the test's transaction."""
    return app.test_client()


@pytest.fixture
def seller(db_session):
    return make_user(db_session, role="seller", name="Chen Jing", organization="Gui'an Computing Co.")


@pytest.fixture
def other_seller(db_session):
    return make_user(db_session, role="seller", name="Wang Lei", organization="Ulanqab Cloud")


@pytest.fixture
def buyer(db_session):
    return make_user(db_session, role="buyer", name="Li Na")


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def tomorrow(now):
    return now + timedelta(days=1)


def form_token(client, path: str) -> str:
    """The CSRF token of the form on the page at `path`."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1)


def sign_in(client, user, password: str = PASSWORD) -> None:
    """Sign `user` in through the login page."""
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": form_token(client, "/login")}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Argon2id with small costs: the production costs are deliberate, and slow for hundreds of tests."""
    from argon2 import PasswordHasher

    from marketplace.accounts import services

    production = services._hasher
    services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    services._hasher = production
