"""National's OAuth endpoints: metadata, token, revocation, introspection, keys."""

from flask import jsonify, url_for
from flask_smorest import Blueprint

from ..errors import OAuthErrorSchema
from .authority import AUTH_METHOD, issuer
from .authserver import server
from .keys import public_jwks
from .scopes import ALLOWED_ALGORITHMS, NODE_SCOPES

blp = Blueprint("oauth", __name__, description="National authorization server (OAuth 2.0)")


def _absolute(endpoint: str) -> str:
    return issuer() + url_for(endpoint)


def authorization_server_metadata() -> dict:
    """RFC 8414 metadata of the national authorization server."""
    return {
        "issuer": issuer(),
        "token_endpoint": _absolute("oauth.token"),
        "jwks_uri": _absolute("oauth.jwks"),
        "revocation_endpoint": _absolute("oauth.revoke"),
        "introspection_endpoint": _absolute("oauth.introspect"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [AUTH_METHOD],
        "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": [AUTH_METHOD],
        "introspection_endpoint_auth_methods_supported": [AUTH_METHOD],
        "scopes_supported": list(NODE_SCOPES),
        "resource_indicators_supported": True,
    }


@blp.get("/.well-known/oauth-authorization-server")
@blp.doc(responses={200: {"description": "RFC 8414 authorization server metadata"}})
def metadata():
    """The authorization server's metadata (RFC 8414)."""
    return jsonify(authorization_server_metadata())


@blp.post("/oauth/token")
@blp.doc(
    description="Client credentials grant with private_key_jwt client authentication (RFC 7523) and one "
    "`resource=urn:cpn:node:<code>` (RFC 8707); answers an RFC 9068 JWT access token.",
    responses={200: {"description": "An access token"}},
)
@blp.alt_response(400, schema=OAuthErrorSchema, description="OAuth error (RFC 6749 §5.2)")
@blp.alt_response(401, schema=OAuthErrorSchema, description="The client did not authenticate")
def token():
    """Issue an access token to a node."""
    return server.create_token_response()


@blp.post("/oauth/revoke")
@blp.doc(responses={200: {"description": "Revoked (or unknown: RFC 7009 answers 200 either way)"}})
@blp.alt_response(400, schema=OAuthErrorSchema, description="OAuth error (RFC 6749 §5.2)")
@blp.alt_response(401, schema=OAuthErrorSchema, description="The client did not authenticate")
def revoke():
    """Revoke one of the calling node's tokens (RFC 7009)."""
    return server.create_endpoint_response("revocation")


@blp.post("/oauth/introspect")
@blp.doc(responses={200: {"description": "RFC 7662 introspection response"}})
@blp.alt_response(400, schema=OAuthErrorSchema, description="OAuth error (RFC 6749 §5.2)")
@blp.alt_response(401, schema=OAuthErrorSchema, description="The client did not authenticate")
def introspect():
    """Whether a token is active, for an authenticated node (RFC 7662)."""
    return server.create_endpoint_response("introspection")


@blp.get("/oauth/jwks")
@blp.doc(responses={200: {"description": "National's token-signing keys"}})
def jwks():
    """The keys that sign national's access tokens."""
    return jsonify(public_jwks())
