"""The pages of the national node, in Chinese."""

import pytest

from ...conftest import migrated_app


@pytest.fixture(scope="session")
def app(database_url):
    """The national node, on the same database as the other tests."""
    app = migrated_app(database_url, NODE_CODE="N0", NODE_ROLE="national", PUBLIC_URL="https://national.example.cn")
    yield app
    app.extensions["db"].engine.dispose()
