"""Registry tests run against the national node."""

import pytest

from ..conftest import migrated_app
from .factories import applicant


@pytest.fixture(scope="session")
def app(database_url):
    """The national node, on the same database as the other tests."""
    app = migrated_app(database_url, NODE_CODE="N0", NODE_ROLE="national", PUBLIC_URL="https://national.example.cn")
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture(autouse=True)
def _applicant(request):
    """Every test that uses the database applies as an account of its own (applying needs an account)."""
    if not {"db_session", "client"} & set(request.fixturenames):
        return None  # e.g. a test that builds another node on the same SQLite file: hold no write lock
    return applicant(request.getfixturevalue("db_session"))
