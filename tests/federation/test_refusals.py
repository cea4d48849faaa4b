"""Everything a resource server or the token endpoint must refuse, each with the reason it gives."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from marketplace.federation import tokens
from marketplace.federation.client import ASSERTION_TYPE, access_token, authenticated_form, client_assertion
from marketplace.federation.keys import public_jwks, signing_key
from marketplace.models import SpentAssertion

from .nodes import NATIONAL_URL


def national_token(federation, **changes) -> str:
    """A token signed with national's real key; `changes` alter claims, `header_*` the header."""
    header_changes = {k[7:]: v for k, v in changes.items() if k.startswith("header_")}
    claims_changes = {k: v for k, v in changes.items() if not k.startswith("header_")}
    now = int(time.time())
    claims = {
        "iss": NATIONAL_URL,
        "aud": "urn:cpn:node:R11",
        "sub": "R44",
        "client_id": "R44",
        "node_code": "R44",
        "scope": "registry:read",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    } | claims_changes
    with federation.national.app_context():
        key = signing_key()
        header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid} | header_changes
        return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key)  # fmt: skip


def call(federation, token: str, node: str = "R11"):
    client = federation[node].test_client()
    return client.get("/federation/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def refused(response, status: int, words: str) -> None:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == status and words in body["message"], body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer error=")


def b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_well_made_token_is_accepted(federation):
    assert call(federation, national_token(federation)).get_json()["node_code"] == "R44"


def test_alg_none(federation):
    good = national_token(federation)
    header = {
        "alg": "none",
        "typ": "at+jwt",
        "kid": json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))["kid"],
    }
    unsigned = f"{b64(header)}.{good.split('.')[1]}."
    refused(call(federation, unsigned), 401, "Algorithm 'none' is not accepted")


def test_hs256_signed_with_nationals_public_key(federation):
    with federation.national.app_context():
        public = public_jwks()["keys"][0]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": public["kid"]}
    payload = national_token(federation).split(".")[1]
    signing_input = f"{b64(header)}.{payload}".encode()
    for secret in (json.dumps(public).encode(), public["x"].encode()):
        signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
        refused(call(federation, f"{signing_input.decode()}.{b64(signature)}"), 401, "'HS256' is not accepted")


def test_another_audience(federation):
    refused(call(federation, national_token(federation, aud="urn:cpn:node:R44")), 401, "another audience")
    refused(call(federation, national_token(federation, aud=["urn:cpn:node:R11", "x"])), 401, "another audience")


def test_another_issuer(federation):
    refused(call(federation, national_token(federation, iss="https://evil.example")), 401, "another issuer")


def test_a_key_national_does_not_have(federation):
    stranger = ECKey.generate_key("P-256")
    now = int(time.time())
    claims = {"iss": NATIONAL_URL, "aud": "urn:cpn:node:R11", "sub": "R44", "client_id": "R44",
              "scope": "registry:read", "exp": now + 300, "jti": "x"}  # fmt: skip
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "forged-kid"}, claims, stranger)
    refused(call(federation, forged), 401, "signature does not verify")


def test_expired(federation):
    refused(call(federation, national_token(federation, exp=int(time.time()) - 3600)), 401, "expired")


def test_missing_scope(federation):
    refused(call(federation, national_token(federation, scope="listings:read")), 403, "lacks the scope registry:read")


def test_missing_claims(federation):
    refused(call(federation, national_token(federation, jti=None)), 401, "lacks jti")


def test_id_token_or_assertion_is_not_an_access_token(federation):
    refused(call(federation, national_token(federation, header_typ="JWT")), 401, "typ must be at+jwt")
    with federation["R44"].app_context():
        assertion = client_assertion()
    refused(call(federation, assertion), 401, "typ must be at+jwt")


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u"])
def test_keys_offered_in_the_header_are_never_used(federation, member):
    values = {"jwk": ECKey.generate_key("P-256").as_dict(private=False), "jku": "http://r44.test/.well-known/jwks.json",
              "x5u": "http://169.254.169.254/latest"}  # fmt: skip
    refused(call(federation, national_token(federation, **{f"header_{member}": values[member]})), 401, "never used")


@pytest.mark.parametrize("kid", ["../../etc/passwd", "1' OR '1'='1", "a/b", "k" * 65, ""])
def test_kid_with_path_or_sql_fragments(federation, kid):
    refused(call(federation, national_token(federation, header_kid=kid)), 401, "kid is missing or malformed")


def test_a_token_of_several_megabytes_is_refused_before_parsing(federation, monkeypatch):
    huge = "a" * (4 * 1024 * 1024)
    parsed = []
    monkeypatch.setattr(tokens, "b64url_decode", lambda text: parsed.append(len(text)) or b"{}")
    refused(call(federation, f"{huge}.{huge}.{huge}"), 401, "longer than")
    assert parsed == []  # refused on its size alone: nothing of it was decoded


def test_no_token(federation):
    refused(federation["R11"].test_client().get("/federation/v1/whoami"), 401, "access token from national is required")


def test_revoked_tokens_stop_working(federation):
    with federation["R44"].app_context():
        token = access_token("R11", "registry:read")
    assert call(federation, token).status_code == 200
    national = federation.national.test_client()
    with federation["R44"].app_context():
        form = authenticated_form(token=token, token_type_hint="access_token")
    assert national.post("/oauth/revoke", data=form).status_code == 200
    federation["R11"].extensions.pop("federation_caches", None)  # what CHECK_TTL seconds do
    refused(call(federation, token), 401, "revoked")
    with federation["R44"].app_context():
        introspection = national.post("/oauth/introspect", data=authenticated_form(token=token)).get_json()
    assert introspection == {"active": False}


def test_a_suspended_node_gets_no_token_and_its_tokens_stop_working(federation):
    with federation["R44"].app_context():
        token = access_token("R11", "registry:read")
    federation.set_status("R44", "suspended")
    federation["R11"].extensions.pop("federation_caches", None)
    refused(call(federation, token), 403, "R44 is suspended")
    at_national = call(federation, national_token(federation, aud="urn:cpn:node:N0"), node="N0")
    refused(at_national, 403, "R44 is suspended")
    with federation["R44"].app_context():
        form = authenticated_form(grant_type="client_credentials", scope="registry:read", resource="urn:cpn:node:R11")
    response = federation.national.test_client().post("/oauth/token", data=form)
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"


# --- the token endpoint ------------------------------------------------------------------------------------


def token_request(federation, assertion: str, **fields):
    form = {
        "grant_type": "client_credentials",
        "scope": "registry:read",
        "resource": "urn:cpn:node:R11",
        "client_id": "R44",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    } | fields
    return federation.national.test_client().post("/oauth/token", data=form)  # fmt: skip


def assertion(federation, key=None, **changes) -> str:
    now = int(time.time())
    claims = {"iss": "R44", "sub": "R44", "aud": NATIONAL_URL, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex} | changes  # fmt: skip
    with federation["R44"].app_context():
        key = key or signing_key()
    return jwt.encode({"alg": "ES256", "kid": key.kid or "k"}, claims, key)


def spent(federation) -> int:
    with federation.national.app_context(), federation.national.extensions["db"].session() as session:
        return session.scalar(select(func.count()).select_from(SpentAssertion))


def test_token_endpoint_issues_an_rfc9068_token(federation):
    response = token_request(federation, assertion(federation))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] <= 600 and body["scope"] == "registry:read"
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_assertion_is_accepted_once(federation):
    once = assertion(federation)
    assert token_request(federation, once).status_code == 200
    replay = token_request(federation, once)
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"
    assert "used before" in replay.get_json()["error_description"]
    assert spent(federation) == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": [NATIONAL_URL]}, "exactly"),
        ({"aud": NATIONAL_URL + "/oauth/token"}, "exactly"),
        ({"aud": "https://another.example"}, "exactly"),
        ({"exp": int(time.time()) + 3600}, "at most 300"),
        ({"sub": "R11"}, "not accepted"),
    ],
)
def test_bad_assertions_are_refused(federation, changes, reason):
    response = token_request(federation, assertion(federation, **changes))
    body = response.get_json()
    assert response.status_code in (400, 401) and body["error"] == "invalid_client", body
    assert reason in body.get("error_description", "")
    assert "access_token" not in body


def test_an_assertion_signed_with_a_key_that_is_not_the_nodes(federation):
    response = token_request(federation, assertion(federation, key=ECKey.generate_key("P-256")))
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"
    assert spent(federation) == 0


@pytest.mark.parametrize(
    ("fields", "error"),
    [({"resource": "urn:cpn:node:R99"}, "invalid_target"), ({"resource": "https://r11.test"}, "invalid_target"),
     ({"scope": "admin"}, "invalid_scope"), ({"grant_type": "password"}, "unsupported_grant_type")],
)  # fmt: skip
def test_bad_token_requests(federation, fields, error):
    response = token_request(federation, assertion(federation), **fields)
    assert response.status_code == 400 and response.get_json()["error"] == error


def test_client_secret_authentication_is_not_offered(federation):
    response = federation.national.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials", "resource": "urn:cpn:node:R11"},
        headers={"Authorization": "Basic " + base64.b64encode(b"R44:secret").decode()})  # fmt: skip
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"


def test_metadata(federation):
    metadata = federation.national.test_client().get("/.well-known/oauth-authorization-server").get_json()
    assert metadata["issuer"] == NATIONAL_URL
    assert metadata["token_endpoint"] == NATIONAL_URL + "/oauth/token"
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {"ES256", "EdDSA"}


def test_a_national_without_signing_keys_answers_503_with_the_reason_never_500(federation, tmp_path, monkeypatch):
    monkeypatch.setitem(federation.national.config, "SIGNING_KEYS_FILE", str(tmp_path / "missing.keys"))
    with federation["R11"].app_context():
        form = authenticated_form(grant_type="client_credentials", scope="registry:read",
                                  resource="urn:cpn:node:R44")  # fmt: skip
    response = federation.national.test_client().post("/oauth/token", data=form)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["reason"] == "keys_missing" and "keys init" in response.get_json()["message"]
