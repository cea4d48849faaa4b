"""Sessions end on the server: after signing out or changing the password, a saved cookie signs in no more.
New passwords must be hard to guess."""

import pytest
from alembic import command
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.accounts.auth import _load_user
from marketplace.cli import alembic_config
from marketplace.models import AuditEntry, User

from ..conftest import form_token, sign_in
from ..factories import PASSWORD, make_user
from ..pages import field_error

NEW_PASSWORD = "plum kettle orbit saffron"


def signed_in(client) -> bool:
    return client.get("/tokens").status_code == 200


def test_a_cookie_saved_before_signing_out_no_longer_signs_in(client, seller):
    sign_in(client, seller)
    saved = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]).value
    assert client.post("/logout", data={"csrf_token": form_token(client, "/tokens")}).status_code == 302
    assert not signed_in(client)

    client.set_cookie(
        client.application.config["SESSION_COOKIE_NAME"], saved
    )  # an attacker who copied the cookie replays it
    response = client.get("/tokens")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_out_ends_the_accounts_other_sessions_too(app, client, seller):
    other = app.test_client()
    sign_in(client, seller)
    sign_in(other, seller)
    client.post("/logout", data={"csrf_token": form_token(client, "/tokens")})
    assert not signed_in(other)


def test_signing_in_again_after_signing_out_works(client, seller):
    sign_in(client, seller)
    client.post("/logout", data={"csrf_token": form_token(client, "/tokens")})
    sign_in(client, seller)
    assert signed_in(client)


def test_changing_the_password_ends_every_other_session(app, client, db_session, seller):
    elsewhere = app.test_client()
    sign_in(client, seller)
    sign_in(elsewhere, seller)
    saved = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]).value
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "csrf_token": form_token(client, "/account/password")}  # fmt: skip
    response = client.post("/account/password", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)

    assert signed_in(client)  # the browser that changed it stays signed in
    assert not signed_in(elsewhere)
    stale = app.test_client()
    stale.set_cookie(app.config["SESSION_COOKIE_NAME"], saved)
    assert not signed_in(stale)
    fresh = app.test_client()
    sign_in(fresh, seller, NEW_PASSWORD)
    assert signed_in(fresh)
    changes = db_session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "password.change")).all()
    assert changes == [seller.email]


@pytest.mark.parametrize(
    ("change", "field", "status", "message"),
    [
        ({"current_password": "not my password"}, "current_password", 403, "not your current password"),
        ({"new_password": "1234567890"}, "new_password", 422, "too easy to guess"),
        ({"new_password": "password123!"}, "new_password", 422, "too easy to guess"),
        ({"new_password": PASSWORD}, "new_password", 422, "different from the current one"),
        ({"new_password": "short"}, "new_password", 422, "Use 10 to 200 characters."),
    ],
    ids=["wrong-current", "digits", "common", "same", "short"],
)
def test_a_refused_password_change_says_why_and_changes_nothing(client, db_session, seller, change, field, status,
                                                                message):  # fmt: skip
    sign_in(client, seller)
    before = (seller.password_hash, seller.session_nonce)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD} | change
    response = client.post("/account/password", data=data | {"csrf_token": form_token(client, "/account/password")})
    assert response.status_code == status
    assert message in field_error(response, field)
    db_session.refresh(seller)
    assert (seller.password_hash, seller.session_nonce) == before and signed_in(client)


def test_the_password_page_needs_sign_in_and_csrf(client, seller):
    assert client.get("/account/password").status_code == 302
    sign_in(client, seller)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("password", ["1234567890", "qwertyuiop", "password1234", "zhou.tao.2026"])
def test_sign_up_refuses_a_password_that_is_easy_to_guess(client, db_session, password):
    before = db_session.scalar(select(func.count()).select_from(User))
    data = {"name": "Zhou Tao", "email": "zhou.tao@example.cn", "role": "buyer", "password": password,
            "csrf_token": form_token(client, "/signup")}  # fmt: skip
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert "This password is too easy to guess." in field_error(response, "password")
    assert db_session.scalar(select(func.count()).select_from(User)) == before


def test_the_command_line_refuses_a_weak_password_too(app, db_session):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "ops@example.cn", "--role", "operator", "--password", "1234567890"]
    )
    assert result.exit_code == 2 and "error: password: This password is too easy to guess." in result.output
    assert db_session.scalars(select(User).where(User.email == "ops@example.cn")).first() is None


def test_a_session_of_a_deleted_or_forged_id_signs_in_nobody(app, db_session):
    """The user loader takes only `id:nonce` with the account's current nonce."""
    user = make_user(db_session, role="buyer")
    with app.test_request_context():
        assert _load_user(user.get_id()).id == user.id
        assert _load_user(str(user.id)) is None  # a cookie from before nonces
        assert _load_user(f"{user.id}:") is None
        assert _load_user(f"{user.id}:{'0' * 32}") is None
        assert _load_user(f"{'9' * 30}:{user.session_nonce}") is None


def test_accounts_made_before_the_nonce_get_one_of_their_own(tmp_path):
    """Migration 0013 gives every existing account a nonce, so they can still sign in."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        command.upgrade(alembic_config(), "0011")
        engine = app.extensions["db"].engine
        with engine.begin() as connection:
            for email in ("a@example.cn", "b@example.cn"):
                connection.exec_driver_sql(
                    "INSERT INTO user (email, password_hash, role, name, organization, created_at) "
                    f"VALUES ('{email}', 'x', 'buyer', 'A', '', '2026-01-01 00:00:00')"
                )
        command.upgrade(alembic_config(), "head")
        with engine.connect() as connection:
            nonces = [row[0] for row in connection.exec_driver_sql("SELECT session_nonce FROM user")]
    engine.dispose()
    assert len(nonces) == 2 and all(len(nonce) == 32 for nonce in nonces) and nonces[0] != nonces[1]
