"""The PostgreSQL pool tests a connection that sat idle before handing it out, and only such a one."""

import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from marketplace import db
from marketplace.config import normalize_database_url

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the pool's ping is PostgreSQL's")


@pytest.fixture
def engine():
    engine = db.make_engine(normalize_database_url(os.environ["TEST_DATABASE_URL"]))
    yield engine
    engine.dispose()


def _kill_pooled_connection(engine) -> int:
    """Use the pool's one connection, give it back, and have the server end its session: its backend pid."""
    with engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    with db.make_engine(str(engine.url)).connect() as other:
        assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
    return pid


def test_a_dead_connection_idle_long_enough_is_replaced(engine, monkeypatch):
    dead = _kill_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_backend_pid()")) != dead


def test_a_connection_given_back_a_moment_ago_is_not_pinged(engine, monkeypatch):
    # Without a ping the dead connection is what the pool hands out, so the ping is what replaced it above.
    _kill_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.scalar(text("SELECT 1"))
    # SQLAlchemy noticed the disconnect and emptied the pool: the next request is served again.
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT 1")) == 1


def test_a_request_on_a_lost_connection_answers_503_and_the_next_one_is_served(app, monkeypatch):
    if app.extensions["db"].engine.dialect.name != "postgresql":
        pytest.skip("the lost connection is PostgreSQL's")
    client = app.test_client()  # on the pool itself, not inside a test's transaction
    engine = app.extensions["db"].engine
    engine.dispose()  # one connection in the pool from here: the one the request below will check out
    _kill_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    try:
        lost = client.get("/api/v1/listings")
        assert lost.status_code == 503
        assert lost.headers["Retry-After"] == "1"
        assert "send the request again" in lost.get_json()["message"]
        assert client.get("/api/v1/listings").status_code == 200
    finally:
        engine.dispose()  # whatever happened, the next test's connections are new


def test_a_signed_in_page_on_a_lost_connection_answers_503_too(app, monkeypatch):
    if app.extensions["db"].engine.dialect.name != "postgresql":
        pytest.skip("the lost connection is PostgreSQL's")
    from marketplace.accounts.services import create_user
    from marketplace.models import User

    from .conftest import PASSWORD, sign_in

    database, engine = app.extensions["db"], app.extensions["db"].engine
    with app.app_context(), database.session() as session:  # committed: this test runs on the pool itself
        user = create_user(session=session, email="lost-connection@example.cn", password=PASSWORD, role="seller",
                           name="Lost")  # fmt: skip
        session.commit()
    client = app.test_client()
    try:
        sign_in(client, user)
        engine.dispose()
        _kill_pooled_connection(engine)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
        lost = client.get("/dashboard")  # the page about it reads the signed-in user again, on a new connection
        assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
        assert client.get("/dashboard").status_code == 200
    finally:
        engine.dispose()
        with app.app_context(), database.session() as session:
            session.delete(session.get(User, user.id))
            session.commit()
