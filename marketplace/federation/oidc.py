"""National as the OpenID Connect provider of the federation: authorization code with PKCE (S256 only).

Relying parties are the approved nodes: client_id is the node code, the redirect URIs are the
exact ones registered at approval, and the node authenticates at the token endpoint with its
own key (private_key_jwt), as it does for client credentials.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from sqlalchemy import select

from .. import metrics
from ..db import get_session
from ..identity.codes import NATIONAL_CODE
from ..models import AuthorizationCode, User
from .authority import AUTH_METHOD, issuer
from .keys import signing_key
from .scopes import ACCESS_TOKEN_TTL, PERSON_SCOPES, node_urn
from .tokens import ACCESS_TOKEN_TYP

CODE_LIFETIME = timedelta(minutes=2)
ID_TOKEN_LIFETIME = 600


def subject_of(user: User) -> str:
    """A person's stable subject identifier across the federation."""
    return f"cpn-{user.id}"


class RequiredS256(CodeChallenge):
    """PKCE on every authorization request, with S256 and nothing weaker."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge_method


class NodeAuthorizationCodeGrant(AuthorizationCodeGrant):
    """The code flow for people signing in at a node; nodes authenticate with their keys."""

    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]
    MAX_NONCE = 200  # the column's length

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        if len(self.request.payload.data.get("nonce") or "") > self.MAX_NONCE:
            raise InvalidRequestError(f"nonce: at most {self.MAX_NONCE} characters.")
        return redirect_uri

    def save_authorization_code(self, code: str, oauth_request):
        data = oauth_request.payload.data
        session = get_session()
        # Only the person scopes are kept: what else was asked for is never granted, nor stored.
        scope = " ".join(s for s in (oauth_request.payload.scope or "").split() if s in PERSON_SCOPES)
        session.add(AuthorizationCode(
            code=code, client_id=oauth_request.client.get_client_id(), redirect_uri=oauth_request.payload.redirect_uri,
            scope=scope, user_id=oauth_request.user.id, nonce=data.get("nonce"),
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            auth_time=int(time.time()), expires_at=datetime.now(UTC) + CODE_LIFETIME,
        ))  # fmt: skip
        session.commit()  # authlib owns the authorization flow: its hook is the unit of work

    def query_authorization_code(self, code: str, client):
        found = get_session().get(AuthorizationCode, code)
        if found and found.client_id == client.get_client_id() and found.expires_at > datetime.now(UTC):
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode):
        # authlib calls this after the token is made: commit here, or a code would work twice.
        session = get_session()
        session.delete(authorization_code)
        session.commit()

    def authenticate_user(self, authorization_code: AuthorizationCode):
        return get_session().get(User, authorization_code.user_id)


class NationalOpenIDCode(OpenIDCode):
    """ID tokens signed with national's ES256 key, with the person's profile."""

    def resolve_client_private_key(self, client):
        return signing_key()

    def get_client_algorithm(self, client) -> str:
        return "ES256"

    def get_encode_header(self, client) -> dict:
        return {"alg": "ES256", "kid": signing_key().kid, "typ": "JWT"}

    def get_client_claims(self, client) -> dict:
        return {"iss": issuer(), "aud": [client.get_client_id()], "exp": int(time.time()) + ID_TOKEN_LIFETIME}

    def exists_nonce(self, nonce: str, oauth_request) -> bool:
        query = select(AuthorizationCode.code).where(
            AuthorizationCode.client_id == oauth_request.payload.client_id, AuthorizationCode.nonce == nonce
        )
        return get_session().scalars(query).first() is not None

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(user: User, scope: str) -> UserInfo:
    """The claims about a person that `scope` allows."""
    info = UserInfo(sub=subject_of(user))
    if "profile" in scope.split():
        info.update(name=user.name, organization=user.organization)
    if "email" in scope.split():
        info.update(email=user.email)
    return info


def generate_person_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=False):
    """An RFC 9068 access token for national's userinfo endpoint, on the person's behalf."""
    now, key = int(time.time()), signing_key()
    scope = " ".join(s for s in (scope or "").split() if s in PERSON_SCOPES)
    claims = {"iss": issuer(), "aud": node_urn(NATIONAL_CODE), "sub": subject_of(user),
              "client_id": client.get_client_id(), "scope": scope, "iat": now, "exp": now + ACCESS_TOKEN_TTL,
              "jti": uuid.uuid4().hex}  # fmt: skip
    token = jwt.encode({"alg": "ES256", "typ": ACCESS_TOKEN_TYP, "kid": key.kid}, claims, key)
    metrics.TOKENS_ISSUED.labels(grant_type).inc()
    return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL, "scope": scope}


def openid_configuration() -> dict:
    """OpenID Connect discovery metadata (added to the RFC 8414 metadata)."""
    from flask import url_for

    base = issuer()
    return {
        "authorization_endpoint": base + url_for("oidc.authorize"),
        "userinfo_endpoint": base + url_for("oidc.userinfo"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "name", "organization", "email", "iss", "aud", "exp", "iat", "nonce"],
    }
