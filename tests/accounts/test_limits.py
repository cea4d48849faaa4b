"""Sign-in attempts are counted per client address (behind one trusted proxy) and per account."""

import itertools

import pytest

from marketplace.limits import limiter

from ..conftest import form_token, migrated_app
from ..factories import PASSWORD, make_user

_hosts = itertools.count(1)


@pytest.fixture(scope="module")
def app(database_url):
    """A regional node behind one reverse proxy (every request comes from the proxy, 127.0.0.1)."""
    app = migrated_app(database_url, NODE_CODE="R44", NODE_ROLE="regional", TRUSTED_PROXIES=1)
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def limits(app, monkeypatch):
    """Small limits, counted from zero."""
    monkeypatch.setitem(app.config, "SIGN_IN_LIMIT", "3 per minute")
    monkeypatch.setitem(app.config, "SIGN_IN_ACCOUNT_LIMIT", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def address() -> str:
    """A client address no other test uses."""
    number = next(_hosts)
    return f"198.51.{number // 250}.{number % 250 + 1}"


def attempt(client, email: str, password: str, client_address: str, forwarded: str | None = None) -> int:
    """One sign-in through the proxy, which appends the client's address to X-Forwarded-For."""
    headers = {"X-Forwarded-For": forwarded or client_address}
    token = form_token(client, "/login")
    data = {"email": email, "password": password, "csrf_token": token}
    return client.post("/login", data=data, headers=headers).status_code


def test_one_address_is_slowed_down_without_locking_out_the_others(client, db_session, limits):
    user = make_user(db_session, role="buyer")
    victim = make_user(db_session, role="buyer")
    attacker = address()
    emails = [make_user(db_session, role="buyer").email for _ in range(4)]
    assert [attempt(client, email, "wrong password", attacker) for email in emails] == [401, 401, 401, 429]
    # Everyone else comes through the same proxy, and signs in as usual.
    assert attempt(client, victim.email, PASSWORD, address()) == 302
    assert attempt(client, user.email, "wrong password", address()) == 401


def test_forging_x_forwarded_for_does_not_escape_the_count(client, db_session, limits):
    """Only the address the trusted proxy appended counts; what the client wrote before it does not."""
    attacker = address()
    statuses = [attempt(client, make_user(db_session).email, "wrong password", attacker,
                        forwarded=f"{address()}, {attacker}") for _ in range(4)]  # fmt: skip
    assert statuses == [401, 401, 401, 429]


def test_one_account_cannot_be_guessed_from_many_addresses(client, db_session, limits):
    target = make_user(db_session, role="buyer")
    statuses = [attempt(client, target.email, "wrong password", address()) for _ in range(3)]
    assert statuses == [401, 401, 401]
    # The fourth guess, from yet another address, is refused even when it is right.
    assert attempt(client, target.email.upper(), PASSWORD, address()) == 429
    # Other accounts are not affected.
    assert attempt(client, make_user(db_session).email, PASSWORD, address()) == 302


def test_signing_in_with_the_right_password_does_not_use_up_the_account(client, db_session, limits):
    user = make_user(db_session, role="buyer")
    for _ in range(5):
        assert attempt(client, user.email, PASSWORD, address()) == 302
        client.post("/logout", data={"csrf_token": form_token(client, "/tokens")})
