"""`flask users create` and `flask tokens create`, run inside the test's transaction."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from marketplace.models import ApiToken, User

from ..factories import gpu_payload, make_user

PW = "a long enough password"


@pytest.fixture
def runner(app, db_session):
    """A CLI runner whose commands share the test's rolled-back transaction."""
    return app.test_cli_runner()


def user_count(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("role", ["seller", "buyer", "operator"])
def test_users_create(runner, db_session, role):
    result = runner.invoke(args=["users", "create", "Ops@Example.CN", "--role", role, "--password", PW,
                                 "--name", "Ops Team", "--org", "R44 node"])  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db_session.scalars(select(User).where(User.email == "ops@example.cn")).one()
    assert f"created {role} ops@example.cn (id {user.id})" in result.output
    assert (user.role, user.name, user.organization) == (role, "Ops Team", "R44 node")
    assert PasswordHasher().verify(user.password_hash, PW) and user.password_hash.startswith("$argon2id$")


def test_users_create_names_the_user_after_the_email_by_default(runner, db_session):
    result = runner.invoke(args=["users", "create", "zhao.min@example.cn", "--role", "buyer", "--password", PW])
    assert result.exit_code == 0, result.output
    assert db_session.scalars(select(User.name).where(User.email == "zhao.min@example.cn")).one() == "zhao.min"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", PW, "error: email: Not a valid email address."),
     ("ok@example.cn", "short", "error: password: Use 10 to 200 characters.")],
)  # fmt: skip
def test_users_create_refuses_bad_input_with_exit_code_2(runner, db_session, email, password, message):
    before = user_count(db_session)
    result = runner.invoke(args=["users", "create", email, "--role", "seller", "--password", password])
    assert result.exit_code == 2 and message in result.output
    assert user_count(db_session) == before


def test_users_create_refuses_an_unknown_role(runner, db_session):
    result = runner.invoke(args=["users", "create", "ok@example.cn", "--role", "admin", "--password", PW])
    assert result.exit_code == 2 and "--role" in result.output and user_count(db_session) == 0


@pytest.mark.parametrize("email", ["taken@example.cn", "TAKEN@Example.cn"])
def test_users_create_refuses_a_duplicate_email(runner, db_session, email):
    make_user(db_session, email="taken@example.cn")
    before = user_count(db_session)
    result = runner.invoke(args=["users", "create", email, "--role", "buyer", "--password", PW])
    assert result.exit_code != 0 and "exists already" in result.output
    assert user_count(db_session) == before


@pytest.mark.parametrize(("role", "status"), [("seller", 201), ("buyer", 403)])
def test_tokens_create_prints_a_token_that_authenticates(runner, client, db_session, role, status):
    """The token is the last line; the API knows its user (a buyer may not publish, but is known)."""
    user = make_user(db_session, role=role, email="Token.Owner@example.cn")
    result = runner.invoke(args=["tokens", "create", "token.owner@EXAMPLE.cn", "--name", "ci"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert plain.startswith("cpn_") and " " not in plain
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert token.name == "ci" and plain.startswith(token.prefix) and plain not in token.token_hash
    response = client.post("/api/v1/listings", json=gpu_payload(), headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == status
    garbled = client.post("/api/v1/listings", json=gpu_payload(), headers={"Authorization": f"Bearer {plain}x"})
    assert garbled.status_code == 401


def test_tokens_create_for_an_unknown_email_fails(runner, db_session):
    result = runner.invoke(args=["tokens", "create", "nobody@example.cn"])
    assert result.exit_code != 0 and "no account with email nobody@example.cn" in result.output
    assert db_session.scalar(select(func.count()).select_from(ApiToken)) == 0
