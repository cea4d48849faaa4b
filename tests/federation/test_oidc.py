"""One sign-in across the federation: national as OpenID Connect provider, nodes as relying parties."""

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from marketplace.accounts.services import create_user
from marketplace.models import AuthorizationCode, User

from .nodes import NATIONAL_URL

PASSWORD = "national password 1"


@pytest.fixture
def person(federation):
    """A person with an account at national."""
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        user = create_user(session=session, email="li.na@example.cn", password=PASSWORD, role="buyer",
                           name="Li Na", organization="Hangzhou AI Lab")  # fmt: skip
        session.commit()
        return user.id


def flashes(client) -> list[str]:
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', client.get("/login").get_data(as_text=True))


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in_at_national(national) -> None:
    response = national.post("/login", data={"email": "li.na@example.cn", "password": PASSWORD,
                                             "csrf_token": csrf(national, "/login")})  # fmt: skip
    assert response.status_code == 302


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def start_at(node, next_url: str = "/dashboard"):
    """A person clicks “Sign in with the national identity” at the node: where national is asked."""
    response = node.get("/auth/national/login", query_string={"next": next_url})
    assert response.status_code == 302 and response.location.startswith(NATIONAL_URL + "/oauth/authorize?")
    return response.location


def full_sign_in(federation, node_code: str = "R44", next_url: str = "/dashboard"):
    node, national = federation[node_code].test_client(), federation.national.test_client()
    authorize_url = start_at(node, next_url)
    sign_in_at_national(national)
    back = national.get(local_path(authorize_url))
    assert back.status_code == 302, back.get_data(as_text=True)
    assert back.location.startswith(federation.url(node_code) + "/auth/national/callback?")
    return node, node.get(local_path(back.location))


def test_a_person_signs_in_at_a_node_with_the_national_identity(federation, person):
    node, done = full_sign_in(federation)
    assert done.status_code == 302
    assert done.location == "/dashboard", flashes(node)
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        local = session.scalars(select(User).where(User.national_subject == f"cpn-{person}")).one()
        assert (local.email, local.name, local.organization, local.role) == (
            "li.na@example.cn", "Li Na", "Hangzhou AI Lab", "buyer")  # fmt: skip
    assert "Li Na" in node.get("/listings").get_data(as_text=True)


def test_the_second_sign_in_finds_the_same_local_account(federation, person):
    full_sign_in(federation)
    full_sign_in(federation)
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        assert len(session.scalars(select(User).where(User.national_subject.is_not(None))).all()) == 1


def test_local_accounts_keep_working_and_are_never_taken_over_by_email(federation, person):
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        create_user(session=session, email="li.na@example.cn", password="local password 1", role="seller", name="Li")
        session.commit()
    node, done = full_sign_in(federation)
    assert done.status_code == 302 and done.location.endswith("/login")
    assert "exists at this node" in node.get("/login").get_data(as_text=True)
    response = node.post("/login", data={"email": "li.na@example.cn", "password": "local password 1",
                                         "csrf_token": csrf(node, "/login")})  # fmt: skip
    assert response.status_code == 302


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"])
def test_no_open_redirect_through_next(federation, person, next_url):
    _, done = full_sign_in(federation, next_url=next_url)
    assert done.status_code == 302
    assert urlsplit(done.location).netloc in ("", "r44.test") and "evil" not in done.location


def authorize(federation, **params):
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {"response_type": "code", "client_id": "R44", "redirect_uri": "http://r44.test/auth/national/callback",
             "scope": "openid profile email", "state": "s", "nonce": "n", "code_challenge": challenge,
             "code_challenge_method": "S256"} | params  # fmt: skip
    national = federation.national.test_client()
    sign_in_at_national(national)
    return national.get("/oauth/authorize?" + urlencode({k: v for k, v in query.items() if v is not None}))


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://r44.test/auth/national/callback/", "http://r44.test/auth/national/callback?x=1",
     "http://evil.example/auth/national/callback", "http://r11.test/auth/national/callback",
     "http://R44.test/auth/national/callback"],
)  # fmt: skip
def test_redirect_uris_must_match_exactly(federation, person, redirect_uri):
    response = authorize(federation, redirect_uri=redirect_uri)
    assert response.status_code == 400 and response.get_json()["error"] in ("invalid_request", "invalid_client")
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("changes", "words"),
    [({"code_challenge": None, "code_challenge_method": None}, "PKCE is required"),
     ({"code_challenge_method": "plain"}, "S256"), ({"code_challenge_method": None}, "S256"),
     ({"nonce": None}, "nonce"), ({"nonce": "n" * 201}, "at most 200"), ({"redirect_uri": None}, "redirect_uri"),
     ({"client_id": "R99"}, ""), ({"response_type": "token"}, "")],
)  # fmt: skip
def test_authorization_requests_without_pkce_or_nonce_are_refused(federation, person, changes, words):
    response = authorize(federation, **changes)
    body = response.get_json()
    assert response.status_code == 400 and "Location" not in response.headers, response.get_data(as_text=True)
    assert words in body["error_description"]


def test_a_request_without_scope_gets_a_code_for_no_claims(federation, person):
    response = authorize(federation, scope=None)
    assert response.status_code == 302 and "code=" in response.location
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        assert [code.scope for code in session.scalars(select(AuthorizationCode))] == [""]


def test_a_code_works_once_and_only_with_its_verifier(federation, person):
    from marketplace.federation.client import authenticated_form

    response = authorize(federation)
    code = parse_qs(urlsplit(response.location).query)["code"][0]
    national = federation.national.test_client()
    with federation["R44"].app_context():
        wrong = authenticated_form(grant_type="authorization_code", code=code, code_verifier="w" * 50,
                                   redirect_uri="http://r44.test/auth/national/callback")  # fmt: skip
        right = authenticated_form(grant_type="authorization_code", code=code, code_verifier="v" * 50,
                                   redirect_uri="http://r44.test/auth/national/callback")  # fmt: skip
        replay = authenticated_form(grant_type="authorization_code", code=code, code_verifier="v" * 50,
                                    redirect_uri="http://r44.test/auth/national/callback")  # fmt: skip
    assert national.post("/oauth/token", data=wrong).get_json()["error"] == "invalid_grant"
    tokens = national.post("/oauth/token", data=right).get_json()
    assert "id_token" in tokens and "access_token" in tokens
    assert national.post("/oauth/token", data=replay).get_json()["error"] == "invalid_grant"

    userinfo = national.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.get_json() == {"sub": f"cpn-{person}", "name": "Li Na", "organization": "Hangzhou AI Lab",
                                   "email": "li.na@example.cn"}  # fmt: skip
    as_access_token = national.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    assert as_access_token.status_code == 401
    at_node = (
        federation["R11"]
        .test_client()
        .get("/federation/v1/whoami", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    )
    assert at_node.status_code == 401


def test_a_callback_with_a_foreign_state_is_refused(federation, person):
    node = federation["R44"].test_client()
    start_at(node)
    response = node.get("/auth/national/callback?code=abc&state=forged")
    assert response.status_code == 400
    with federation["R44"].app_context(), federation["R44"].extensions["db"].session() as session:
        assert session.scalars(select(User)).first() is None


def test_discovery(federation):
    metadata = federation.national.test_client().get("/.well-known/openid-configuration").get_json()
    assert metadata["issuer"] == NATIONAL_URL
    assert metadata["authorization_endpoint"] == NATIONAL_URL + "/oauth/authorize"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    assert "openid" in metadata["scopes_supported"]
