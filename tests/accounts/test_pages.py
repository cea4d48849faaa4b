"""Account pages: sign up, sign in (and where it leads), sign out, personal API tokens."""

import hashlib
import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from marketplace.models import ApiToken, User

from ..conftest import form_token, sign_in
from ..factories import PASSWORD, bearer, gpu_payload, make_user
from ..pages import field_error, page_text

SIGNUP = {"name": "Zhou Tao", "organization": "Yangtze Data Link", "email": "zhou.tao@example.cn",
          "password": "a long enough password"}  # fmt: skip


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def signed_in(client) -> bool:
    """Whether the client's session is signed in (the tokens page needs it)."""
    return client.get("/tokens").status_code == 200


@pytest.mark.parametrize(("role", "home"), [("seller", "/dashboard"), ("buyer", "/listings")])
def test_signup_creates_the_account_and_signs_in(client, db_session, role, home):
    """The password is kept only as an Argon2id hash."""
    data = SIGNUP | {"role": role, "email": "Zhou.Tao@Example.CN", "csrf_token": form_token(client, "/signup")}
    response = client.post("/signup", data=data)
    assert response.status_code == 302 and response.headers["Location"] == home
    user = db_session.scalars(select(User).where(User.email == "zhou.tao@example.cn")).one()
    assert (user.role, user.name, user.organization) == (role, "Zhou Tao", "Yangtze Data Link")
    assert user.password_hash.startswith("$argon2id$") and SIGNUP["password"] not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, SIGNUP["password"])
    assert signed_in(client)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "SELLER-TAKEN@example.cn"}, "email", "An account with this email exists already"),
        ({"password": "short"}, "password", "Use 10 to 200 characters."),
        ({"email": "not-an-email"}, "email", "Not a valid email address."),
        ({"role": "operator"}, "role", "Must be one of: seller, buyer."),
        ({"name": ""}, "name", "Length must be between 1 and 100."),
    ],
    ids=["duplicate-email", "short-password", "bad-email", "operator-role", "no-name"],
)
def test_signup_errors_are_shown_beside_the_field_and_store_nothing(client, db_session, changes, field, message):
    make_user(db_session, email="seller-taken@example.cn")
    before = count(db_session, User)
    data = SIGNUP | {"role": "seller"} | changes | {"csrf_token": form_token(client, "/signup")}
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert count(db_session, User) == before and not signed_in(client)


@pytest.mark.parametrize(("email", "password"), [("{email}", "wrong password"), ("nobody@example.cn", PASSWORD)])
def test_login_with_wrong_credentials_answers_401(client, seller, email, password):
    """A wrong password and an unknown email get the same answer."""
    data = {"email": email.format(email=seller.email), "password": password, "csrf_token": form_token(client, "/login")}
    response = client.post("/login", data=data)
    assert response.status_code == 401
    assert field_error(response, "password") == "Wrong email or password."
    assert not signed_in(client)


def test_login_is_case_insensitive_in_the_email(client, seller):
    data = {"email": seller.email.upper(), "password": PASSWORD, "csrf_token": form_token(client, "/login")}
    assert client.post("/login", data=data).status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize("target", ["/listings?q=H100&region=52", "/tokens", "/"])
def test_login_follows_a_local_next(client, seller, target):
    data = {"email": seller.email, "password": PASSWORD, "next": target, "csrf_token": form_token(client, "/login")}
    response = client.post("/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "http:/evil",
     "///evil.example", "/\t/evil.example", "\\\\evil.example", " //evil.example", "https:evil.example"],
)  # fmt: skip
@pytest.mark.parametrize("where", ["form", "query"])
def test_login_never_redirects_off_the_site(client, seller, target, where):
    """Whatever `next` says, a signed-in seller lands on their dashboard, on this site."""
    data = {"email": seller.email, "password": PASSWORD, "csrf_token": form_token(client, "/login")}
    if where == "form":
        response = client.post("/login", data=data | {"next": target})
    else:
        response = client.post("/login", data=data, query_string={"next": target})
    if where == "query" and "\t" in target:  # a control character in a query string is refused outright
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_login_page_drops_an_offsite_next(client):
    assert 'name="next"' not in client.get("/login?next=https://evil.example").get_data(as_text=True)
    assert 'name="next" value="/tokens"' in client.get("/login?next=/tokens").get_data(as_text=True)


def test_sign_in_from_a_protected_page_comes_back_to_it(client, seller):
    location = client.get("/listings/new").headers["Location"]
    login_page = client.get(location)
    assert 'name="next" value="/listings/new"' in login_page.get_data(as_text=True)
    data = {"email": seller.email, "password": PASSWORD, "next": "/listings/new",
            "csrf_token": form_token(client, location)}  # fmt: skip
    response = client.post(location, data=data)
    assert response.headers["Location"] == "/listings/new"
    assert client.get("/listings/new").status_code == 200


def test_logout_needs_post_with_csrf(client, seller):
    sign_in(client, seller)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert signed_in(client)
    response = client.post("/logout", data={"csrf_token": form_token(client, "/tokens")})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not signed_in(client)
    assert client.get("/dashboard").headers["Location"].startswith("/login?next=")


def _create_token(client, name="inventory sync") -> tuple[str, object]:
    """Create a token on the tokens page; return the plain token shown and the response."""
    response = client.post("/tokens", data={"name": name, "csrf_token": form_token(client, "/tokens")})
    match = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    return (match.group(1) if match else ""), response


def test_token_is_shown_once_and_only_its_digest_is_stored(client, db_session, seller):
    sign_in(client, seller)
    plain, response = _create_token(client)
    assert response.status_code == 200 and plain.startswith("cpn_")
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == seller.id)).one()
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in (token.token_hash, token.prefix, token.name) and plain.startswith(token.prefix)
    listed = client.get("/tokens")
    assert plain not in listed.get_data(as_text=True)
    assert f"inventory sync {token.prefix}… " in page_text(listed) and "active" in page_text(listed)


def test_token_page_requires_a_name(client, db_session, seller):
    sign_in(client, seller)
    plain, response = _create_token(client, name="")
    assert response.status_code == 422 and not plain
    assert "Length must be between 1 and 100." in field_error(response, "name")
    assert count(db_session, ApiToken) == 0


def test_a_revoked_token_no_longer_authenticates(client, db_session, seller):
    sign_in(client, seller)
    plain, _response = _create_token(client)
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.post("/api/v1/listings", json=gpu_payload(), headers=headers).status_code == 201
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == seller.id)).one()
    response = client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": form_token(client, "/tokens")})
    assert response.status_code == 302 and response.headers["Location"] == "/tokens"
    assert "revoked" in page_text(client.get("/tokens"))
    db_session.refresh(token)
    assert token.revoked_at is not None
    response = client.post("/api/v1/listings", json=gpu_payload(title="After revocation"), headers=headers)
    assert response.status_code == 401 and response.json["code"] == 401


def test_revoking_another_users_token_is_not_found(client, db_session, seller, other_seller):
    headers = bearer(db_session, other_seller)
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == other_seller.id)).one()
    sign_in(client, seller)
    for token_id in (token.id, token.id + 1000):
        response = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": form_token(client, "/tokens")})
        assert response.status_code == 404
    db_session.refresh(token)
    assert token.revoked_at is None
    assert client.post("/api/v1/listings", json=gpu_payload(), headers=headers).status_code == 201


def test_revoke_needs_csrf(client, db_session, seller):
    bearer(db_session, seller)
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == seller.id)).one()
    sign_in(client, seller)
    assert client.post(f"/tokens/{token.id}/revoke").status_code == 400
    db_session.refresh(token)
    assert token.revoked_at is None


def test_tokens_page_needs_sign_in(client):
    response = client.get("/tokens")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Ftokens"


def test_sign_in_is_rate_limited_per_address(app, client, db_session, monkeypatch):
    """The eleventh wrong password within a minute is answered 429, whatever the password."""
    from marketplace.limits import limiter

    monkeypatch.setitem(app.config, "SIGN_IN_LIMIT", "10 per minute")
    limiter.reset()
    try:
        user = make_user(db_session, role="buyer")
        token = form_token(client, "/login")
        statuses = [client.post("/login", data={"email": user.email, "password": "wrong password",
                                                "csrf_token": token}).status_code for _ in range(11)]  # fmt: skip
        assert statuses[:10] == [401] * 10 and statuses[10] == 429
        right = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert right.status_code == 429 and b"Too Many Requests" in right.data
    finally:
        limiter.reset()
