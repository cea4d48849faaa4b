"""The national authorization server: client credentials with private_key_jwt, RFC 9068 access tokens.

authlib runs the OAuth protocol (grant, client authentication, revocation, introspection);
this module says who the clients are (active nodes of the registry, with their registered
JWKS), what their assertions must look like, and what an access token holds.
"""

import base64
import json
import os
import re
import time
from datetime import UTC, datetime

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Flask, current_app, g, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from .. import metrics
from ..db import get_session
from ..models import Node, SpentAssertion
from .authority import AUTH_METHOD, issuer
from .cache import app_cache
from .endpoints import NodeIntrospectionEndpoint, NodeRevocationEndpoint
from .http import FetchRefused, fetch
from .jwks import jwks_errors
from .minting import mint_access_token
from .oidc import NationalOpenIDCode, NodeAuthorizationCodeGrant, RequiredS256, generate_person_token
from .scopes import ALLOWED_ALGORITHMS, NODE_SCOPES, PERSON_SCOPES, URN_PREFIX

MAX_ASSERTION_LIFETIME = 300  # seconds between an assertion's iat and exp
KEY_REFRESH_INTERVAL = 60  # seconds between fetches of one node's published keys
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class NodeClient(ClientMixin):
    """An active node of the registry, seen as an OAuth client (client_id = node code)."""

    def __init__(self, node: Node):
        self.node = node

    def get_client_id(self) -> str:
        return self.node.code

    def get_default_redirect_uri(self):
        return None  # every authorization request names its redirect URI (OpenID Connect requires it)

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in NODE_SCOPES or s in PERSON_SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.node.redirect_uris or [])  # exactly as registered

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # nodes have keys, never secrets

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == AUTH_METHOD

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("client_credentials", "authorization_code")


def query_client(client_id: str) -> NodeClient | None:
    """Only active nodes are clients: a suspended node gets no token."""
    node = get_session().get(Node, client_id) if isinstance(client_id, str) and len(client_id) <= 8 else None
    return NodeClient(node) if node is not None and node.status == "active" else None


def node_scopes(scope: str | None) -> str:
    """The node-to-node scopes among those asked for."""
    return " ".join(s for s in (scope or "").split() if s in NODE_SCOPES)


class NodeAssertion(JWTBearerClientAssertion):
    """RFC 7523 client authentication, as strict as FAPI 2.0 asks."""

    CLIENT_AUTH_METHOD = AUTH_METHOD

    def get_audiences(self) -> list[str]:
        return [issuer()]

    def resolve_client_public_key(self, client: NodeClient) -> KeySet:
        g.assertion_client = client  # for a key refresh in process_assertion_claims
        return KeySet.import_key_set(client.node.jwks)

    def process_assertion_claims(self, assertion: str, resolve_key):
        kid = _unverified_kid(assertion)
        if kid and _KID.match(kid) and not any(key.kid == kid for key in resolve_key.keys):
            # The node rotated its keys: fetch its published set once and keep it as the registered copy.
            # At most once a minute per node, so forged assertions cannot make national fetch in a loop.
            node = g.assertion_client.node
            refreshed = app_cache("node_key_refresh", KEY_REFRESH_INTERVAL).get(
                node.code, lambda: refresh_node_keys(node)
            )
            resolve_key = refreshed or resolve_key
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ALLOWED_ALGORITHMS))
        except (JoseError, ValueError) as error:
            raise InvalidClientError(description=f"Client assertion not accepted: {error}") from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims) -> None:
        # The audience is national's issuer identifier itself: no array, no token endpoint URL.
        if claims.get("aud") != issuer():
            raise InvalidClientError(description=f"The assertion's aud must be exactly {issuer()!r}.")
        exp, iat = claims.get("exp"), claims.get("iat", time.time())
        if isinstance(exp, int | float) and isinstance(iat, int | float) and exp - iat > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description=f"Client assertions live at most {MAX_ASSERTION_LIFETIME} s.")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti) -> bool:
        """Accept each jti once: a replayed assertion fails on the primary key."""
        if not isinstance(jti, str) or not 1 <= len(jti) <= 128:
            return False
        session = get_session()
        try:
            with session.begin_nested():
                session.add(SpentAssertion(jti=jti, client_id=claims["sub"],
                                           expires_at=datetime.fromtimestamp(claims["exp"], UTC)))  # fmt: skip
        except IntegrityError:
            return False
        return True


def _unverified_kid(assertion: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
    except (ValueError, UnicodeDecodeError):
        return None
    return header.get("kid") if isinstance(header, dict) and isinstance(header.get("kid"), str) else None


def refresh_node_keys(node: Node) -> KeySet | None:
    """Fetch a node's published JWKS (through the guarded client) and register it if it is acceptable."""

    try:
        response = fetch("GET", node.public_url + "/.well-known/jwks.json")
        jwks = response.json() if response.status_code == 200 else None
    except (FetchRefused, ValueError):
        return None
    if jwks is None or jwks_errors(jwks):
        return None
    node.jwks = jwks
    get_session().commit()  # inside authlib's client authentication, which owns the token request's flow
    return KeySet.import_key_set(jwks)


class InvalidTargetError(OAuth2Error):
    """RFC 8707: the `resource` is not a node this server issues tokens for."""

    error = "invalid_target"


class NodeClientCredentialsGrant(ClientCredentialsGrant):
    """Client credentials for nodes: private_key_jwt only, one `resource`, explicit scopes."""

    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]

    def validate_token_request(self):
        super().validate_token_request()
        resources = request.form.getlist("resource")
        if len(resources) != 1 or not resources[0].startswith(URN_PREFIX):
            raise InvalidTargetError(description=f"Name exactly one resource: {URN_PREFIX}<node code>.")
        code = resources[0][len(URN_PREFIX) :]
        target = get_session().get(Node, code)
        if code != current_app.config["NODE_CODE"] and (target is None or target.status != "active"):
            raise InvalidTargetError(description=f"{code} is not an active node.")
        if not node_scopes(self.request.payload.scope):
            raise InvalidScopeError(description=f"Ask for one or more of: {' '.join(NODE_SCOPES)}.")


def generate_access_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=False):
    """An RFC 9068 JWT access token for the node that authenticated, for the resource it named."""
    metrics.TOKENS_ISSUED.labels(grant_type).inc()
    return mint_access_token(client_id=client.get_client_id(), audience=request.form["resource"],
                             scope=node_scopes(scope))  # fmt: skip


def _save_token(token, oauth_request) -> None:
    """JWT access tokens are self-contained: only the spent assertion needs keeping."""
    get_session().commit()  # authlib's save_token hook ends its token request: the unit of work is its


server = AuthorizationServer()


def init_app(app: Flask) -> None:
    """Make this (national) node the federation's authorization server."""

    if app.config["FEDERATION_ALLOW_PRIVATE_ADDRESSES"]:
        # Development federations run on http://127.0.0.1; authlib insists on https otherwise.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    server.init_app(app, query_client=query_client, save_token=_save_token)
    server.register_client_auth_method(AUTH_METHOD, NodeAssertion())
    server.register_grant(NodeClientCredentialsGrant)
    server.register_token_generator("client_credentials", generate_access_token)
    server.register_grant(NodeAuthorizationCodeGrant, [RequiredS256(), NationalOpenIDCode(require_nonce=True)])
    server.register_token_generator("authorization_code", generate_person_token)
    server.register_endpoint(NodeRevocationEndpoint)
    server.register_endpoint(NodeIntrospectionEndpoint)
